"""A fused selective scan in Triton, for training on CUDA (`--scan triton`).

Why: tools/vim_torch/scan.py's chunked scan materialises the (tokens x channels x
states) tensors many times per layer (forward and recomputing backward), so training
is bound by memory traffic on those tensors. Here one Triton program owns a block of
channels of one image and walks the tokens with its (channels x 16) state in registers:
the forward reads u, delta, B, C and writes y, nothing more. The backward recomputes
the states once into a scratch buffer (written once, read once), then walks the
tokens backwards, exactly the algebra of scan.py's `_ChunkedScan._backward`:

    g_t   = gy_t C_t + a_{t+1} g_{t+1}          (state gradient; a_t = exp(dt_t A))
    gC_t  = sum_e gy_t h_t        gB_t = sum_e g_t dt_t u_t
    gdtu  = sum_n g_t B_t         q    = g_t a_t h_{t-1}
    gA   += q dt_t                gdt  = gdtu u_t + sum_n q A      gu = gdtu dt_t

gB, gC and gA are summed over channel blocks / images afterwards in PyTorch (no
atomics, so results are deterministic).

Where this was written there was no GPU and no Triton: test_train.py runs these very
kernel functions on the CPU through a small stand-in for `triton` / `triton.language`
(pointer arithmetic, loads and stores on torch tensors), which checks the indexing and
the algebra against the chunked scan, not Triton's compiler. On the GPU `self_check()`
compares the compiled kernels with the chunked scan (values and all five gradients),
and train.py falls back to the chunked scan when that fails or Triton is missing.
`install()` routes the model's `scan_impl="triton"` to this module without editing
tools/vim_torch (it wraps the `selective_scan` name that model.py imported).
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F

try:
    import triton
    import triton.language as tl
except Exception:  # no Triton (CPU machines): the chunked scan is used
    triton = None

BLOCK_E = 64


if triton is not None:
    @triton.jit
    def _fwd_kernel(u_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, y_ptr, L, E, Eg,
                    s_ub, s_ue, s_ul, s_db, s_de, s_dl,
                    s_Bb, s_Bg, s_Bn, s_Bl, s_Cb, s_Cg, s_Cn, s_Cl, s_yb, s_ye, s_yl,
                    N: tl.constexpr, BLOCK: tl.constexpr):
        pid_b = tl.program_id(0).to(tl.int64)
        pid_e = tl.program_id(1)
        e = pid_e * BLOCK + tl.arange(0, BLOCK)
        n = tl.arange(0, N)
        g = (pid_e * BLOCK) // Eg                     # a block never straddles two groups
        A = tl.load(A_ptr + e[:, None] * N + n[None, :])
        u_p = u_ptr + pid_b * s_ub + e * s_ue
        d_p = dt_ptr + pid_b * s_db + e * s_de
        y_p = y_ptr + pid_b * s_yb + e * s_ye
        B_p = B_ptr + pid_b * s_Bb + g * s_Bg + n * s_Bn
        C_p = C_ptr + pid_b * s_Cb + g * s_Cg + n * s_Cn
        h = tl.zeros([BLOCK, N], dtype=tl.float32)
        for t in range(L):
            dt = tl.load(d_p + t * s_dl)
            uu = tl.load(u_p + t * s_ul)
            Bt = tl.load(B_p + t * s_Bl)
            Ct = tl.load(C_p + t * s_Cl)
            h = tl.exp(dt[:, None] * A) * h + (dt * uu)[:, None] * Bt[None, :]
            tl.store(y_p + t * s_yl, tl.sum(h * Ct[None, :], axis=1))

    @triton.jit
    def _bwd_kernel(u_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, gy_ptr, h_ptr,
                    gu_ptr, gdt_ptr, gA_ptr, gB_ptr, gC_ptr, L, E, Eg, NBLK,
                    s_ub, s_ue, s_ul, s_db, s_de, s_dl,
                    s_Bb, s_Bg, s_Bn, s_Bl, s_Cb, s_Cg, s_Cn, s_Cl, s_gb, s_ge, s_gl,
                    N: tl.constexpr, BLOCK: tl.constexpr):
        pid_b = tl.program_id(0).to(tl.int64)
        pid_e = tl.program_id(1)
        e = pid_e * BLOCK + tl.arange(0, BLOCK)
        n = tl.arange(0, N)
        g = (pid_e * BLOCK) // Eg
        A = tl.load(A_ptr + e[:, None] * N + n[None, :])
        u_p = u_ptr + pid_b * s_ub + e * s_ue
        d_p = dt_ptr + pid_b * s_db + e * s_de
        gy_p = gy_ptr + pid_b * s_gb + e * s_ge
        B_p = B_ptr + pid_b * s_Bb + g * s_Bg + n * s_Bn
        C_p = C_ptr + pid_b * s_Cb + g * s_Cg + n * s_Cn
        # gu and gdt are written token-major like the inputs' layout chosen by the wrapper:
        # (b, L, E) contiguous, so element (b, e, t) is at (b * L + t) * E + e.
        o_p = pid_b * L * E + e
        # scratch states (b, L, E, N): element (b, t, e, n)
        h_p = h_ptr + pid_b * L * E * N + e[:, None] * N + n[None, :]
        # pass 1: recompute the states, keep them in the scratch buffer
        h = tl.zeros([BLOCK, N], dtype=tl.float32)
        for t in range(L):
            dt = tl.load(d_p + t * s_dl)
            uu = tl.load(u_p + t * s_ul)
            Bt = tl.load(B_p + t * s_Bl)
            h = tl.exp(dt[:, None] * A) * h + (dt * uu)[:, None] * Bt[None, :]
            tl.store(h_p + t * E * N, h)
        tl.debug_barrier()   # the scratch written above is read back (maybe by other threads)
        # pass 2: tokens in reverse
        gnext = tl.zeros([BLOCK, N], dtype=tl.float32)   # a_{t+1} g_{t+1}
        gA = tl.zeros([BLOCK, N], dtype=tl.float32)
        part = (pid_b * NBLK + pid_e) * L * N            # partial gB / gC rows: (b, NBLK, L, N)
        for i in range(L):
            t = L - 1 - i
            dt = tl.load(d_p + t * s_dl)
            uu = tl.load(u_p + t * s_ul)
            gy = tl.load(gy_p + t * s_gl)
            Bt = tl.load(B_p + t * s_Bl)
            Ct = tl.load(C_p + t * s_Cl)
            h_t = tl.load(h_p + t * E * N)
            tp = tl.maximum(t - 1, 0)
            h_prev = tl.load(h_p + tp * E * N) * tl.minimum(t, 1).to(tl.float32)   # h_{-1} = 0
            a = tl.exp(dt[:, None] * A)
            gs = gy[:, None] * Ct[None, :] + gnext
            tl.store(gC_ptr + part + t * N + n, tl.sum(gy[:, None] * h_t, axis=0))
            tl.store(gB_ptr + part + t * N + n, tl.sum(gs * (dt * uu)[:, None], axis=0))
            gdtu = tl.sum(gs * Bt[None, :], axis=1)
            q = gs * a * h_prev
            gA += q * dt[:, None]
            tl.store(gdt_ptr + o_p + t * E, gdtu * uu + tl.sum(q * A, axis=1))
            tl.store(gu_ptr + o_p + t * E, gdtu * dt)
            gnext = gs * a
        tl.store(gA_ptr + (pid_b * E + e[:, None]) * N + n[None, :], gA)


def _block(Eg: int) -> int:
    b = BLOCK_E
    while Eg % b:
        b //= 2
    return b


def _token_major(x: torch.Tensor) -> torch.Tensor:
    """(b, E, L) float32 view whose memory is (b, L, E): channel loads coalesce."""
    x = x.float()
    if x.stride(1) == 1 and x.stride(2) == x.shape[1]:
        return x
    return x.transpose(1, 2).contiguous().transpose(1, 2)


class _TritonScan(torch.autograd.Function):
    """y[b, e, t] = sum_n C[b, g(e), n, t] h[b, e, n, t]; u, dt (b, E, L); A (E, N); B, C (b, G, N, L)."""

    @staticmethod
    def forward(ctx, u, dt, A, B, C):
        b, E, L = u.shape
        G, N = B.shape[1], A.shape[1]
        Eg = E // G
        blk = _block(Eg)
        u, dt = _token_major(u), _token_major(dt)
        A, B, C = A.float().contiguous(), B.float(), C.float()
        y = torch.empty(b, L, E, device=u.device, dtype=torch.float32).transpose(1, 2)
        _fwd_kernel[(b, E // blk)](
            u, dt, A, B, C, y, L, E, Eg, *u.stride(), *dt.stride(), *B.stride(), *C.stride(), *y.stride(),
            N=N, BLOCK=blk, num_warps=4)
        ctx.save_for_backward(u, dt, A, B, C)
        return y

    @staticmethod
    def backward(ctx, gy):
        u, dt, A, B, C = ctx.saved_tensors
        b, E, L = u.shape
        G, N = B.shape[1], A.shape[1]
        Eg = E // G
        blk = _block(Eg)
        nblk = E // blk
        gy = _token_major(gy)
        dev, f32 = u.device, torch.float32
        scratch = torch.empty(b, L, E, N, device=dev, dtype=f32)
        gu = torch.empty(b, L, E, device=dev, dtype=f32)
        gdt = torch.empty(b, L, E, device=dev, dtype=f32)
        gA = torch.empty(b, E, N, device=dev, dtype=f32)
        gB = torch.empty(b, nblk, L, N, device=dev, dtype=f32)
        gC = torch.empty(b, nblk, L, N, device=dev, dtype=f32)
        _bwd_kernel[(b, nblk)](
            u, dt, A, B, C, gy, scratch, gu, gdt, gA, gB, gC, L, E, Eg, nblk,
            *u.stride(), *dt.stride(), *B.stride(), *C.stride(), *gy.stride(),
            N=N, BLOCK=blk, num_warps=4)
        del scratch
        # partial sums over the channel blocks of each group, then (b, G, N, L)
        gB = gB.view(b, G, nblk // G, L, N).sum(2).transpose(2, 3)
        gC = gC.view(b, G, nblk // G, L, N).sum(2).transpose(2, 3)
        return gu.transpose(1, 2), gdt.transpose(1, 2), gA.sum(0), gB, gC


def scan_core(u, delta, A, B, C):
    """The recurrence alone (delta already biased and softplus'ed), any float dtypes in,
    u.dtype out; B, C as (b, N, L) or grouped (b, G, N, L)."""
    B4 = B if B.dim() == 4 else B.unsqueeze(1)
    C4 = C if C.dim() == 4 else C.unsqueeze(1)
    with torch.autocast(u.device.type, enabled=False):   # the recurrence stays in float32
        y = _TritonScan.apply(u.float(), delta.float(), A.float(), B4.float(), C4.float())
    return y.to(u.dtype)


def selective_scan_triton(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False, **_):
    """Same contract as tools/vim_torch/scan.py's selective_scan."""
    if delta_bias is not None:
        delta = delta + delta_bias[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    y = scan_core(u, delta, A, B, C)
    if D is not None:
        y = y + D[:, None] * u
    if z is not None:
        y = y * F.silu(z)
    return y


def available() -> bool:
    return triton is not None and torch.cuda.is_available()


def install() -> None:
    """Makes scan_impl="triton" in tools.vim_torch.model use this module (idempotent)."""
    from tools.vim_torch import model as vm
    if getattr(vm.selective_scan, "_triton_dispatch", False):
        return
    orig = vm.selective_scan

    def dispatch(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False, impl="auto", **kw):
        if impl == "triton":
            return selective_scan_triton(u, delta, A, B, C, D, z, delta_bias, delta_softplus)
        return orig(u, delta, A, B, C, D, z, delta_bias, delta_softplus, impl=impl, **kw)

    disable = getattr(getattr(torch, "compiler", None), "disable", None)
    if disable is not None:  # under torch.compile keep the Triton launch eager (a graph break)
        dispatch = disable(dispatch)
    dispatch._triton_dispatch = True
    vm.selective_scan = dispatch


def self_check(device="cuda", timing_batch: int = 128, L: int = 65) -> tuple[bool, str]:
    """Triton scan vs the chunked scan on random Vim-Ti-shaped inputs: output and all
    input gradients, float32, TF32 off. Returns (ok, report). Also times both at a
    training-sized batch so the log says what the Triton scan buys."""
    if not available():
        return False, "Triton or CUDA not available"
    from tools.vim_torch.scan import _chunked
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        worst = 0.0
        for (b, G, Eg, N, LL) in ((3, 2, 384, 16, L), (2, 2, 96, 16, 7), (1, 1, 64, 8, 1)):
            gen = torch.Generator(device=device).manual_seed(1234 + LL)
            r = lambda *s: torch.randn(*s, device=device, generator=gen)  # noqa: E731
            E = G * Eg
            inp = dict(u=r(b, E, LL), delta=F.softplus(r(b, E, LL) - 1.0) * 2, A=-torch.exp(r(E, N) * 0.5 + 1.0),
                       B=r(b, G, N, LL), C=r(b, G, N, LL))
            gy = r(b, E, LL)
            outs = {}
            for name in ("triton", "chunked"):
                leaves = {k: v.clone().requires_grad_(True) for k, v in inp.items()}
                if name == "triton":
                    y = scan_core(**leaves)
                else:
                    y = _chunked(leaves["u"], leaves["delta"], leaves["A"], leaves["B"], leaves["C"], 0, 1 << 28)
                y.backward(gy)
                outs[name] = [y.detach()] + [leaves[k].grad for k in ("u", "delta", "A", "B", "C")]
            for name, a, c in zip(("y", "gu", "gdelta", "gA", "gB", "gC"), outs["triton"], outs["chunked"]):
                if not bool(torch.isfinite(a).all()):
                    return False, f"non-finite {name} (b{b} G{G} Eg{Eg} N{N} L{LL})"
                rel = ((a - c).abs().max() / c.abs().max().clamp_min(1e-30)).item()
                worst = max(worst, rel)
                if rel > 2e-4:
                    return False, f"{name} differs from the chunked scan by {rel:.2e} (relative; b{b} G{G} Eg{Eg} N{N} L{LL})"
        # timing, forward + backward, at the training shape
        b, E, N = timing_batch, 768, 16
        u = torch.randn(b, E, L, device=device, requires_grad=True)
        delta = (F.softplus(torch.randn(b, E, L, device=device) - 1) * 2).requires_grad_(True)
        A = (-torch.exp(torch.randn(E, N, device=device))).requires_grad_(True)
        Bm = torch.randn(b, 2, N, L, device=device, requires_grad=True)
        Cm = torch.randn(b, 2, N, L, device=device, requires_grad=True)
        times = {}
        for name in ("triton", "chunked"):
            fn = (lambda: scan_core(u, delta, A, Bm, Cm)) if name == "triton" else \
                (lambda: _chunked(u, delta, A, Bm, Cm, 0, 1 << 28))
            for i in range(4):
                if i == 1:
                    torch.cuda.synchronize()
                    t0 = time.perf_counter()
                fn().sum().backward()
            torch.cuda.synchronize()
            times[name] = (time.perf_counter() - t0) / 3 * 1e3
        return True, (f"matches the chunked scan (worst relative difference {worst:.1e}); one layer fwd+bwd at "
                      f"batch {b}, L {L}: triton {times['triton']:.2f} ms, chunked {times['chunked']:.2f} ms")
    except Exception as exc:  # a compile or launch error: report it and fall back
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
