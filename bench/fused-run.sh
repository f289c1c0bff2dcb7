#!/usr/bin/env bash
# One device call that measures the fused block against its baselines on the same
# GPU: the engine as it is (.bundle/app), the engine before the fusion
# (.bundle/app-before: dist/ of the previous commit, made by bench/fused-bundle.sh),
# the official hustvl/Vim CUDA code (bench/official, carried .official/) and
# PyTorch DeiT with SDPA. Carry .bundle and .official; results go to $OUT:
#   adapter.json, gpu-run.log   setup (bench/gpu-run.sh --setup-only)
#   after.json, before.json     `vim-webgpu bench` of each engine
#   official-bench.json, official.log   the official code, with our ÷ official ratios
#   deit.json                   DeiT-Ti (timm, SDPA) from bench/pytorch_bench.py
#
#   bash bench/fused-run.sh [--quick]
# Each part has its own time limit so that the whole stays inside a 10-minute command.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-bench/results/fused-run}
mkdir -p "$out"
rt=/tmp/vim-webgpu-rt
log() { echo "fused-run: $*" | tee -a "$out/gpu-run.log"; }

bash bench/gpu-run.sh --setup-only --out "$out" || { log "setup failed"; exit 1; }
node=$rt/node

# The previous engine beside the current one, sharing its node_modules (webgpu).
rm -rf "$rt/app-before"
mkdir -p "$rt/app-before"
cp -r .bundle/app-before/dist "$rt/app-before/dist"
cp "$rt/app/package.json" "$rt/app-before/"
ln -s "$rt/app/node_modules" "$rt/app-before/node_modules"

bench() {  # APP NAME LIMIT ARGS...: one `bench` run appended to $out/NAME.json (as NAME-k.json parts)
  local app=$1 name=$2 limit=$3; shift 3
  local part="$out/$name.part$((${parts[$name]:-0}))"
  parts[$name]=$((${parts[$name]:-0} + 1))
  log "$name: bench $*"
  (cd "$rt/$app" && timeout "$limit" "$node" dist/cli.js bench "$@" --json "$part.json") 2>&1 | tee -a "$out/gpu-run.log" \
    || log "$name: bench failed or timed out"
}
declare -A parts

# In priority order, each with its own limit; a step that would start past
# DEADLINE seconds (default 520) is skipped, so the call ends inside 10 minutes.
deadline=${DEADLINE:-520}
late() { [ "$SECONDS" -ge "$deadline" ] && { log "skipped (${SECONDS}s > ${deadline}s): $*"; return 0; }; return 1; }
# Small inputs: 20 runs; large: 5 (a 1248 px batch of 64 uploads 1.2 GB per run).
late after-224 || bench app after 60 --model vim_ti --size 224 --batch 1,64 --runs 20 --scan single,chunked
late after-1248 || bench app after 90 --model vim_ti --size 1248 --batch 1 --runs 5 --scan single,chunked
late after-1248-64 || bench app after 60 --model vim_ti --size 1248 --batch 64 --runs 5
late official || OFFICIAL_BUILD_TIMEOUT=180 OFFICIAL_TIMEOUT=$((${OFFICIAL_BUDGET:-110} + 40)) bash bench/official/run.sh "$out" --webgpu "$out/after.part0.json,$out/after.part1.json,$out/after.part2.json" -- --budget ${OFFICIAL_BUDGET:-110} \
  --cases vim_ti:224:16:1,vim_ti:224:16:64,vim_ti:1248:16:1,vim_ti:1248:16:64,vim_ti:512:16:1,vim_ti:512:16:64,vim_ti:1024:16:1,vim_ti:1024:16:64,vim_ti:224:8:64,vim_s:224:16:1,vim_s:224:16:64 \
  >/dev/null 2>&1 || log "official: see official.log"
late before || bench app-before before 40 --model vim_ti --size 224 --batch 1,64 --runs 20 --scan chunked
late before-1248 || bench app-before before 60 --model vim_ti --size 1248 --batch 1,64 --runs 5 --scan chunked
late after-512 || bench app after 60 --model vim_ti --size 512,1024 --batch 1,64 --runs 5
late after-s8 || bench app after 30 --model vim_ti --size 224 --batch 1,64 --stride 8 --runs 10
late deit || timeout 60 python3 bench/pytorch_bench.py --json "$out/deit.json" --models deit_ti --sizes 224,512,1024,1248 \
  --stride8-sizes '' --batches 1,64 --budget 50 2>&1 | tail -12 | tee -a "$out/gpu-run.log"
late after-s || bench app after 45 --model vim_s --size 224 --batch 1,64 --runs 5

# Merge the parts of each engine into one file (cases and skips concatenated).
python3 - "$out" <<'EOF'
import glob, json, os, sys
out = sys.argv[1]
for name in ("after", "before"):
    merged = None
    for f in sorted(glob.glob(os.path.join(out, f"{name}.part*.json"))):
        d = json.load(open(f))
        if merged is None:
            merged = d
        else:
            for k in ("results", "skipped"):
                merged.setdefault(k, []).extend(d.get(k, []))
        os.remove(f)
    if merged is not None:
        json.dump(merged, open(os.path.join(out, f"{name}.json"), "w"), indent=1)
EOF

# The official ratios against every engine case measured (compare.py again, on the merged file).
[ -f "$out/official-bench.json" ] && python3 bench/official/compare.py --official "$out/official-bench.json" --webgpu "$out/after.json" --merge 2>&1 | tail -30
log "done: $(cd "$out" && ls | tr '\n' ' ')"
