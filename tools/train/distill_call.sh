#!/usr/bin/env bash
# One GPU call that makes the bundled model: the ConvNet teacher (teacher.py, train split
# only), the Vim-Ti student distilled from it (train.py --teacher), and, when the engine's
# bundle travelled too, the engine's own conversion (vim-webgpu convert) and evaluation
# (vim-webgpu eval, WebGPU through Dawn/Vulkan) of int8, f16 and f32 on the whole val split.
#
#   bash tools/train/distill_call.sh            (from a folder holding tools/, .data/ and
#                                                optionally .bundle/, next to a checkout)
# Environment (defaults): OUT (where files come back), REPO (..: the checkout, for
# bench/gpu-run.sh, bench/valset/pack_to_png.py and the init weights), TEACHER_BUDGET (150 s),
# STUDENT_BUDGET (320 s), TEACHER_ARGS, STUDENT_ARGS (extra options), INIT
# ($REPO/weights/vim-ti-imagenette.f16.safetensors), EVAL_LIMIT (all images), DEVICE_ARGS.
# What comes back in $OUT (at most 8 files): call.log, train_log.json, the student's
# vim_ti_imagenette_f16.safetensors, _f32.part1/2.safetensors, resume.pt, and small.tar
# (teacher_log.json, the engine's eval JSON, logits, sha256 of the converted files,
# adapter.json), rewritten after each phase so a cut-off call still returns what was done.
# The teacher itself stays on the machine (/tmp/w/teacher.pt). A call that could not carry
# val.bin (64 MiB travel) measures nothing on val there; it brings the teacher back instead,
# float16 in two halves (teacher_f16.part1/2.pt, < 16 MiB each for a ResNet-18), to be
# measured at home (teacher.py --eval-only), and leaves the student's resume.pt and f16 copy
# (rebuilt exactly from the f32 halves) on the machine, so that the returned files stay
# under 64 MiB.
set -uo pipefail
here=$(pwd)
REPO=${REPO:-..}
REPO=$(cd "$REPO" && pwd)
OUT=${OUT:-$here/out}
W=/tmp/w
mkdir -p "$OUT" "$W/small"
exec > >(tee -a "$OUT/call.log") 2>&1
export PYTHONUNBUFFERED=1
t0=$(date +%s)
say() { echo "[call $(( $(date +%s) - t0 ))s] $*"; }
pack_small() { tar -cf "$OUT/small.tar.tmp" -C "$W/small" . && mv "$OUT/small.tar.tmp" "$OUT/small.tar"; }
INIT=${INIT:-$REPO/weights/vim-ti-imagenette.f16.safetensors}
say "host $(hostname), $(nproc) cores; $(nvidia-smi -L 2>/dev/null | head -n1)"
sha256sum "$INIT" | tee "$W/small/init.sha256"

# engine runtime and the val PNGs, on the CPU while the GPU trains
engine=0
if [ -f .bundle/node.xz ] && [ -f .data/val.bin ]; then
  engine=1
  ( BUNDLE=$here/.bundle bash "$REPO/bench/gpu-run.sh" --setup-only --out "$W/small" > "$W/setup.log" 2>&1; echo "rc $?" >> "$W/setup.log"
    python3 "$REPO/bench/valset/pack_to_png.py" --data .data --split val --out "$W/valpng" > "$W/png.log" 2>&1 ) &
  setup_pid=$!
fi

# 1. teacher
say "teacher (budget ${TEACHER_BUDGET:-150} s)"
export_args=""
[ -f .data/val.bin ] || export_args="--export-f16 $OUT"
python3 tools/train/teacher.py --data .data --out "$W/small" --save "$W/teacher.pt" $export_args \
  --time-budget "${TEACHER_BUDGET:-150}" ${DEVICE_ARGS:-} ${TEACHER_ARGS:-}
trc=$?
pack_small
[ $trc = 0 ] || { say "teacher failed (rc $trc)"; exit 1; }

# 2. student
say "student (budget ${STUDENT_BUDGET:-320} s)"
python3 tools/train/train.py --data .data --out "$OUT" --init "$INIT" --teacher "$W/teacher.pt" \
  --time-budget "${STUDENT_BUDGET:-320}" ${DEVICE_ARGS:-} ${STUDENT_ARGS:-}
src=$?
[ $src = 0 ] || { say "student failed (rc $src)"; pack_small; exit 1; }
if [ -n "$export_args" ]; then
  mv "$OUT/resume.pt" "$OUT/vim_ti_imagenette_f16.safetensors" "$W/" 2>/dev/null
  sha256sum "$W/resume.pt" "$W/vim_ti_imagenette_f16.safetensors" > "$W/small/kept-on-machine.sha256"
fi

# 3. the engine: convert (the project's converter) and evaluate all val images, each dtype
if [ $engine = 1 ]; then
  wait "$setup_pid"
  cat "$W/setup.log" "$W/png.log"
  cp "$W/png.log" "$W/small/valpng.txt"
  rt=/tmp/vim-webgpu-rt
  if grep -q '^rc 0' "$W/setup.log"; then
    grep -q VK_DRIVER_FILES "$W/setup.log" && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    python3 tools/train/merge_parts.py --dir "$OUT" --safetensors "$W/student_f32.safetensors" | tee "$W/small/merge.txt"
    lim=${EVAL_LIMIT:+--limit $EVAL_LIMIT}
    for dt in f32 f16 int8; do
      (cd "$rt/app" && ../node dist/cli.js convert "$W/student_f32.safetensors" --dtype $dt -o "$W/vim-ti-imagenette.$dt.safetensors") \
        || say "convert $dt failed"
    done
    (cd "$W" && sha256sum vim-ti-imagenette.*.safetensors student_f32.safetensors) | tee "$W/small/converted.sha256"
    for dt in f32 f16 int8; do
      cmp=""
      [ $dt != f32 ] && cmp="--compare-logits $W/small/f32.logits"
      say "engine eval $dt"
      (cd "$rt/app" && timeout 150 ../node dist/cli.js eval --weights "$W/vim-ti-imagenette.$dt.safetensors" \
        --images "$W/valpng" --crop-ratio 1 $lim --save-logits "$W/small/$dt.logits" $cmp --json > "$W/small/eval-$dt.json") \
        || say "engine eval $dt failed (rc $?)"
      python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2], 'top1', d.get('top1'), 'top5', d.get('top5'), 'images', d.get('images'), 'seconds', d.get('seconds'))" \
        "$W/small/eval-$dt.json" $dt || true
      pack_small
    done
  else
    say "engine setup failed: no engine evaluation"
  fi
fi
pack_small
say "done"
