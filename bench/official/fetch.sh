#!/usr/bin/env bash
# Extracts the few official files the side-by-side benchmark needs into .official/ (git-ignored;
# never commit it) from bare git mirrors of hustvl/Vim and state-spaces/mamba:
#
#   bash bench/official/fetch.sh [VIM_GIT_DIR [MAMBA_GIT_DIR]]
#
# defaults: /work/.mirror/hustvl+Vim/repo and /work/.mirror/state-spaces+mamba/repo (made by the
# session tool `fetch`; any bare or normal clone works). VIM_REV / MAMBA_REV pick the commits
# (default HEAD of Vim; mamba v1.1.1, kept only for the record: the code that runs is the copy of
# mamba_ssm 1.1.1 that hustvl/Vim vendors as mamba-1p1p1/, which is what its model code imports).
# What is taken: vim/models_mamba.py and vim/rope.py; the mamba_ssm python files the model
# imports (not utils/generation.py, utils/hf.py: they need `transformers` and the model never
# calls them; bench_official.py stubs them); the selective-scan CUDA sources of the fp32 forward;
# the causal-conv1d forward sources (Vim's vendored causal-conv1d 1.4.0); the licences.
set -euo pipefail
cd "$(dirname "$0")/../.."
vim=${1:-/work/.mirror/hustvl+Vim/repo}
mamba=${2:-/work/.mirror/state-spaces+mamba/repo}
vrev=${VIM_REV:-HEAD}
mrev=${MAMBA_REV:-v1.1.1}
dst=.official
grep -qx '/.official/' .git/info/exclude 2>/dev/null || echo '/.official/' >> .git/info/exclude
rm -rf "$dst"
take() {  # REPO REV PATH DEST
  mkdir -p "$(dirname "$4")"
  git --git-dir="$1" show "$2:$3" > "$4" 2>/dev/null || git -C "$1" show "$2:$3" > "$4"
}
M=mamba-1p1p1
for f in vim/models_mamba.py vim/rope.py vim/LICENSE LICENSE.txt \
         $M/LICENSE $M/mamba_ssm/__init__.py \
         $M/mamba_ssm/ops/__init__.py $M/mamba_ssm/ops/selective_scan_interface.py \
         $M/mamba_ssm/ops/triton/__init__.py $M/mamba_ssm/ops/triton/layer_norm.py \
         $M/mamba_ssm/modules/__init__.py $M/mamba_ssm/modules/mamba_simple.py \
         $M/mamba_ssm/utils/__init__.py \
         causal-conv1d/LICENSE causal-conv1d/causal_conv1d/__init__.py \
         causal-conv1d/causal_conv1d/causal_conv1d_interface.py; do
  take "$vim" "$vrev" "$f" "$dst/vim-repo/$f"
done
for f in selective_scan.cpp selective_scan.h selective_scan_common.h selective_scan_fwd_fp32.cu \
         selective_scan_fwd_kernel.cuh static_switch.h uninitialized_copy.cuh reverse_scan.cuh; do
  take "$vim" "$vrev" "$M/csrc/selective_scan/$f" "$dst/vim-repo/$M/csrc/selective_scan/$f"
done
for f in causal_conv1d.cpp causal_conv1d.h causal_conv1d_common.h causal_conv1d_fwd.cu static_switch.h; do
  take "$vim" "$vrev" "causal-conv1d/csrc/$f" "$dst/vim-repo/causal-conv1d/csrc/$f"
done
# state-spaces/mamba at v1.1.1: the same fwd kernel before the ROCm edits, for diffing only.
for f in selective_scan_fwd_kernel.cuh selective_scan_common.h; do
  take "$mamba" "$mrev" "csrc/selective_scan/$f" "$dst/state-spaces-mamba-$mrev/csrc/selective_scan/$f" || true
done
{
  echo "hustvl/Vim $(git --git-dir="$vim" rev-parse "$vrev" 2>/dev/null || git -C "$vim" rev-parse "$vrev")"
  echo "state-spaces/mamba $mrev $(git --git-dir="$mamba" rev-parse "$mrev^{commit}" 2>/dev/null || echo '?')"
} > "$dst/SOURCES"
echo "fetch.sh: $(find "$dst" -type f | wc -l) files, $(du -sh "$dst" | cut -f1) in $dst"; cat "$dst/SOURCES"
