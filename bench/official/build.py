"""Builds the official CUDA kernels that Vim's fused inference path calls, fp32 forward only.

    python3 bench/official/build.py [--src .official/vim-repo] [--build /tmp/vim-official-build]
                                    [--only selective_scan|causal_conv1d] [--arch 90]

From the copy that bench/official/fetch.sh extracted (hustvl/Vim's vendored mamba_ssm 1.1.1,
`mamba-1p1p1/csrc/selective_scan`, and its causal-conv1d 1.4.0, `causal-conv1d/csrc`), this
writes patched copies into BUILD/src and compiles two torch extensions with nvcc for sm_90:

* `selective_scan_cuda`: selective_scan.cpp + selective_scan_fwd_fp32.cu. The patch keeps
  the official forward kernel and launcher untouched and strips only what is not the
  fp32 real-weight forward: the Half/BFloat16 and complex dispatch branches, the complex
  instantiation, and the backward function and its binding (their kernels are not built).
* `causal_conv1d_cuda`: causal_conv1d.cpp + causal_conv1d_fwd.cu, likewise fp32 forward
  only (the backward and the decoding `update` are stripped).

Flags are the official setup.py's for CUDA (-O3, --use_fast_math, --expt-relaxed-constexpr,
--expt-extended-lambda, the half/bf16 operator -U's, -lineinfo), with only
`-gencode arch=compute_90,code=sm_90` as target. Uses torch.utils.cpp_extension.load (ninja);
without ninja, plain nvcc/g++ command lines with the same flags. A build whose patched sources
and flags are unchanged is reused (BUILD/NAME/.stamp). Each extension prints one line: ok or why not.
Exit status: 0 if selective_scan_cuda is importable (causal_conv1d_cuda is optional).
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time

NVCC_FLAGS = ["-O3", "-U__CUDA_NO_HALF_OPERATORS__", "-U__CUDA_NO_HALF_CONVERSIONS__",
              "-U__CUDA_NO_BFLOAT16_OPERATORS__", "-U__CUDA_NO_BFLOAT16_CONVERSIONS__",
              "-U__CUDA_NO_BFLOAT162_OPERATORS__", "-U__CUDA_NO_BFLOAT162_CONVERSIONS__",
              "--expt-relaxed-constexpr", "--expt-extended-lambda", "--use_fast_math", "-lineinfo",
              "--threads", "4"]
CXX_FLAGS = ["-O3"]

FLOAT_ONLY_ITYPE = """#define DISPATCH_ITYPE_FLOAT_AND_HALF_AND_BF16(ITYPE, NAME, ...)                    \\
    if (ITYPE == at::ScalarType::Float)  {                                          \\
        using input_t = float;                                                      \\
        __VA_ARGS__();                                                              \\
    } else {                                                                        \\
        AT_ERROR(#NAME, " built fp32-only (bench/official): not for input type '", toString(ITYPE), "'"); \\
    }
"""
FLOAT_ONLY_WTYPE = {
    "DISPATCH_WTYPE_FLOAT_AND_HALF_AND_BF16": "weight type",
    "DISPATCH_WTYPE_FLOAT_AND_COMPLEX": "weight type",
}


def _replace_macro(text: str, name: str, body: str) -> str:
    """Replaces the multi-line #define NAME(...) (backslash-continued) with body."""
    m = re.search(r"^#define %s\(.*?\n(?:.*\\\n)*.*\n" % re.escape(name), text, flags=re.M)
    if not m:
        raise RuntimeError(f"patch: macro {name} not found")
    return text[:m.start()] + body + text[m.end():]


def _float_only_wtype(name: str) -> str:
    return (f"#define {name}(WTYPE, NAME, ...)                                            \\\n"
            "    if (WTYPE == at::ScalarType::Float)  {                                     \\\n"
            "        using weight_t = float;                                                \\\n"
            "        __VA_ARGS__();                                                         \\\n"
            "    } else {                                                                   \\\n"
            "        AT_ERROR(#NAME, \" built fp32-only (bench/official): not for weight type '\", toString(WTYPE), \"'\"); \\\n"
            "    }\n")


def _cut_function(text: str, signature_start: str, until: str) -> str:
    """Removes from the line that starts the definition up to (not including) `until`."""
    i = text.find(signature_start)
    j = text.find(until, i)
    if i < 0 or j < 0:
        raise RuntimeError(f"patch: {signature_start.strip()!r} ... {until!r} not found")
    return text[:i] + "// [bench/official] removed: not part of the fp32 forward\n\n" + text[j:]


def _drop_lines(text: str, pattern: str, expect: int) -> str:
    lines = text.splitlines(keepends=True)
    keep = [ln for ln in lines if not re.search(pattern, ln)]
    if len(lines) - len(keep) != expect:
        raise RuntimeError(f"patch: expected {expect} lines matching {pattern!r}, found {len(lines) - len(keep)}")
    return "".join(keep)


COMPAT = """// [bench/official] AT_ERROR is gone from newer torch headers: same meaning.
#ifndef AT_ERROR
#define AT_ERROR(...) TORCH_CHECK(false, __VA_ARGS__)
#endif
"""


def _with_compat(cpp: str) -> str:
    i = cpp.find("#define CHECK_SHAPE")
    if i < 0:
        raise RuntimeError("patch: CHECK_SHAPE not found")
    return cpp[:i] + COMPAT + cpp[i:]


def patch_selective_scan(src: str, dst: str) -> list[str]:
    os.makedirs(dst, exist_ok=True)
    for f in ("selective_scan.h", "selective_scan_common.h", "selective_scan_fwd_kernel.cuh",
              "static_switch.h", "uninitialized_copy.cuh"):
        shutil.copy(os.path.join(src, f), os.path.join(dst, f))
    cpp = open(os.path.join(src, "selective_scan.cpp")).read()
    cpp = _replace_macro(cpp, "DISPATCH_ITYPE_FLOAT_AND_HALF_AND_BF16", FLOAT_ONLY_ITYPE)
    cpp = _replace_macro(cpp, "DISPATCH_WTYPE_FLOAT_AND_HALF_AND_BF16", _float_only_wtype("DISPATCH_WTYPE_FLOAT_AND_HALF_AND_BF16"))
    cpp = _replace_macro(cpp, "DISPATCH_WTYPE_FLOAT_AND_COMPLEX", _float_only_wtype("DISPATCH_WTYPE_FLOAT_AND_COMPLEX"))
    cpp = _cut_function(cpp, "std::vector<at::Tensor>\nselective_scan_bwd(", "PYBIND11_MODULE")
    cpp = _with_compat(_drop_lines(cpp, r'm\.def\("bwd"', 1))
    cu = open(os.path.join(src, "selective_scan_fwd_fp32.cu")).read()
    cu = _drop_lines(cu, r"selective_scan_fwd_cuda<float, complex_t>", 1)
    open(os.path.join(dst, "selective_scan.cpp"), "w").write(cpp)
    open(os.path.join(dst, "selective_scan_fwd_fp32.cu"), "w").write(cu)
    return [os.path.join(dst, "selective_scan.cpp"), os.path.join(dst, "selective_scan_fwd_fp32.cu")]


def patch_causal_conv1d(src: str, dst: str) -> list[str]:
    os.makedirs(dst, exist_ok=True)
    for f in ("causal_conv1d.h", "causal_conv1d_common.h", "static_switch.h"):
        shutil.copy(os.path.join(src, f), os.path.join(dst, f))
    cpp = open(os.path.join(src, "causal_conv1d.cpp")).read()
    cpp = _replace_macro(cpp, "DISPATCH_ITYPE_FLOAT_AND_HALF_AND_BF16", FLOAT_ONLY_ITYPE)
    cpp = _replace_macro(cpp, "DISPATCH_WTYPE_FLOAT_AND_HALF_AND_BF16", _float_only_wtype("DISPATCH_WTYPE_FLOAT_AND_HALF_AND_BF16"))
    cpp = _cut_function(cpp, "std::vector<at::Tensor>\ncausal_conv1d_bwd(", "PYBIND11_MODULE")
    cpp = _with_compat(_drop_lines(cpp, r'm\.def\("causal_conv1d_(bwd|update)"', 2))
    cu = open(os.path.join(src, "causal_conv1d_fwd.cu")).read()
    cu = _drop_lines(cu, r"^template void causal_conv1d_(channellast_)?fwd_cuda<.*(Half|BFloat16)", 16)
    open(os.path.join(dst, "causal_conv1d.cpp"), "w").write(cpp)
    open(os.path.join(dst, "causal_conv1d_fwd.cu"), "w").write(cu)
    return [os.path.join(dst, "causal_conv1d.cpp"), os.path.join(dst, "causal_conv1d_fwd.cu")]


def _digest(paths, extra: str) -> str:
    h = hashlib.sha256(extra.encode())
    for p in sorted(paths):
        h.update(open(p, "rb").read())
    for p in sorted(os.listdir(os.path.dirname(paths[0]))):
        h.update(p.encode() + open(os.path.join(os.path.dirname(paths[0]), p), "rb").read())
    return h.hexdigest()


def _so_path(build_dir: str, name: str) -> str | None:
    for f in os.listdir(build_dir) if os.path.isdir(build_dir) else []:
        if f.startswith(name) and f.endswith(".so"):
            return os.path.join(build_dir, f)
    return None


def _manual_build(name: str, sources: list[str], build_dir: str, gencode: list[str]) -> None:
    """nvcc/g++ command lines (no ninja): the flags cpp_extension would pass, plus ours."""
    import torch
    from torch.utils import cpp_extension as ce
    try:
        incs, lib_dirs = ce.include_paths(device_type="cuda"), ce.library_paths(device_type="cuda")
    except TypeError:  # older torch
        incs, lib_dirs = ce.include_paths(cuda=True), ce.library_paths(cuda=True)
    inc = sum((["-I", p] for p in incs + [os.path.dirname(sources[0]), sysconfig.get_paths()["include"]]), [])
    abi = f"-D_GLIBCXX_USE_CXX11_ABI={int(torch._C._GLIBCXX_USE_CXX11_ABI)}"
    defs = [f"-DTORCH_EXTENSION_NAME={name}", "-DTORCH_API_INCLUDE_EXTENSION_H", abi]
    nvcc = os.path.join(ce.CUDA_HOME or "/usr/local/cuda", "bin", "nvcc")
    objs = []
    for s in sources:
        o = os.path.join(build_dir, os.path.basename(s) + ".o")
        if s.endswith(".cu"):
            cmd = [nvcc, "-c", s, "-o", o, "-std=c++17", "-Xcompiler", "-fPIC"] + defs + inc + NVCC_FLAGS + gencode
        else:
            cmd = ["g++", "-c", s, "-o", o, "-std=c++17", "-fPIC"] + defs + inc + CXX_FLAGS
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        objs.append(o)
    libs = sum((["-L", p] for p in lib_dirs), [])
    out = os.path.join(build_dir, name + ".so")
    cmd = ["g++", "-shared", "-o", out] + objs + libs + ["-lc10", "-lc10_cuda", "-ltorch", "-ltorch_cpu",
                                                          "-ltorch_cuda", "-ltorch_python", "-lcudart"]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def build_one(name: str, sources: list[str], build_dir: str, arch: str, force: bool) -> str:
    gencode = ["-gencode", f"arch=compute_{arch},code=sm_{arch}"]
    stamp = os.path.join(build_dir, ".stamp")
    digest = _digest(sources, " ".join(NVCC_FLAGS + CXX_FLAGS + gencode))
    so = _so_path(build_dir, name)
    if not force and so and os.path.exists(stamp) and open(stamp).read() == digest:
        return f"{so} (cached)"
    os.makedirs(build_dir, exist_ok=True)
    t = time.monotonic()
    import torch  # noqa: F401
    from torch.utils import cpp_extension as ce
    # cpp_extension adds -gencode for TORCH_CUDA_ARCH_LIST itself; make that sm_90 only.
    os.environ["TORCH_CUDA_ARCH_LIST"] = f"{arch[0]}.{arch[1:]}"
    os.environ.setdefault("MAX_JOBS", str(min(16, os.cpu_count() or 4)))
    if shutil.which("ninja") or importlib.util.find_spec("ninja"):
        if not shutil.which("ninja"):  # the pip package's binary
            import ninja
            os.environ["PATH"] = ninja.BIN_DIR + os.pathsep + os.environ["PATH"]
        ce.load(name=name, sources=sources, build_directory=build_dir, extra_cflags=CXX_FLAGS,
                extra_cuda_cflags=NVCC_FLAGS, extra_include_paths=[os.path.dirname(sources[0])],
                verbose=True, with_cuda=True)
    else:
        _manual_build(name, sources, build_dir, gencode)
    so = _so_path(build_dir, name)
    if not so:
        raise RuntimeError("no .so produced")
    open(stamp, "w").write(digest)
    return f"{so} (built in {time.monotonic() - t:.0f} s)"


def main() -> int:
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", default=os.path.join(root, ".official", "vim-repo"))
    p.add_argument("--build", default=os.environ.get("OFFICIAL_BUILD", "/tmp/vim-official-build"))
    p.add_argument("--only", choices=["selective_scan", "causal_conv1d"])
    p.add_argument("--arch", default="90")
    p.add_argument("--patch-only", action="store_true", help="write the patched sources, compile nothing")
    p.add_argument("--force", action="store_true")
    a = p.parse_args()
    jobs = [("selective_scan_cuda", patch_selective_scan, "mamba-1p1p1/csrc/selective_scan"),
            ("causal_conv1d_cuda", patch_causal_conv1d, "causal-conv1d/csrc")]
    ok = {}
    for name, patch, rel in jobs:
        if a.only and not name.startswith(a.only):
            continue
        try:
            sources = patch(os.path.join(a.src, rel), os.path.join(a.build, "src", name))
            if a.patch_only:
                print(f"build: {name}: patched sources in {os.path.dirname(sources[0])}")
                ok[name] = True
                continue
            print(f"build: {name}: ok: {build_one(name, sources, os.path.join(a.build, name), a.arch, a.force)}", flush=True)
            ok[name] = True
        except BaseException as e:  # noqa: BLE001 - report and go on with the other
            if isinstance(e, KeyboardInterrupt):
                raise
            print(f"build: {name}: FAILED: {type(e).__name__}: {str(e)[-800:]}", flush=True)
            ok[name] = False
    return 0 if ok.get("selective_scan_cuda", a.only == "causal_conv1d") else 1


if __name__ == "__main__":
    sys.exit(main())
