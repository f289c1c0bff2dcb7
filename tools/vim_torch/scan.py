"""Selective scan (the Mamba-1 recurrence) for our PyTorch Vim.

One entry point, `selective_scan`, with the argument conventions of
mamba_ssm's `selective_scan_fn`, so either can be swapped in:

    u, delta, z : (batch, E, L)      A : (E, N)        D, delta_bias : (E,)
    B, C        : (batch, N, L) or (batch, G, N, L): G groups of E/G channels

    delta <- softplus(delta + delta_bias)            (if delta_softplus)
    h_t    = exp(delta_t * A) * h_{t-1} + delta_t * B_t * u_t     (h: E x N)
    y_t    = sum_n C_t[n] h_t[:, n] + D * u_t ;  y_t *= silu(z_t)  (if z given)

Implementations (`impl`):
  * "sequential": a plain autograd loop over tokens; the reference.
  * "chunked": ours (below). Forward and backward are written out by hand in
    a torch.autograd.Function that saves only its inputs and recomputes the
    (tokens x E x N) states in backward, as the official CUDA kernel does, so
    training memory stays linear in E*L rather than E*N*L per layer.
  * "assoc": the recurrence through torch's associative_scan higher-order op
    (torch >= 2.5); only sensible under torch.compile on CUDA, where Inductor
    turns it into one Triton scan kernel. Plain autograd.
  * "mamba": mamba_ssm's CUDA kernel, when that package imports.
  * "auto": "mamba" when importable and the tensors are on CUDA, else "chunked".

The chunked scan. The states a_t (decay exp(delta*A)) and b_t (input
delta*u*B) are laid out token-major, (L, rows), rows = batch x channel x
state, so one token's slab is contiguous. Tokens are cut into nc chunks of T.
Step 1 runs the recurrence inside every chunk at once: T-1 in-place
`addcmul_` calls, each on the slab of one in-chunk position across all
chunks. Step 2 walks the chunks in order: chunk c gets the true state at the
end of chunk c-1 times its in-chunk decay (a cumulative product, never above
1, so nothing can overflow whatever delta and A a trained model has), one
call per chunk. About T + 2 nc launches instead of L, with T ~ sqrt(2L);
memory is bounded by cutting the rows into blocks of at most `max_elems`.

`last_impl()` says which implementation ran most recently (benches report it).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

try:  # the official CUDA kernel, when installed (not on our machines)
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn as _mamba_scan
except Exception:  # ImportError, or a CUDA extension that fails to load
    _mamba_scan = None

IMPLS = ("auto", "chunked", "sequential", "assoc", "mamba")
MAX_ELEMS = 1 << 28     # per (tokens x rows) block tensor: 1 GiB in float32
_last = {"impl": None}


def mamba_available() -> bool:
    return _mamba_scan is not None


def last_impl() -> str | None:
    return _last["impl"]


def auto_chunk(L: int) -> int:
    """Chunk length minimising launches (T - 1 + 2 L / T)."""
    return max(2, min(L, round(math.sqrt(2 * L))))


# ---------------------------------------------------------------------------
# In-place two-level linear recurrence on token-major tensors
# ---------------------------------------------------------------------------

def _scan_(x: torch.Tensor, a: torch.Tensor, T: int, reverse: bool = False) -> None:
    """In place, along dim 0 (length nc*T):
    forward:  x_t <- x_t + a_t * x_{t-1}
    reverse:  x_t <- x_t + a_t * x_{t+1}   (a already shifted by the caller)."""
    nc = x.shape[0] // T
    xv, av = x.view(nc, T, -1), a.view(nc, T, -1)
    if reverse:
        for t in range(T - 2, -1, -1):
            xv[:, t].addcmul_(av[:, t], xv[:, t + 1])
        for c in range(nc - 2, -1, -1):
            decay = torch.cumprod(av[c].flip(0), 0).flip(0)   # prod a_t..a_{T-1}
            xv[c].addcmul_(decay, xv[c + 1, :1])
    else:
        for t in range(1, T):
            xv[:, t].addcmul_(av[:, t], xv[:, t - 1])
        for c in range(1, nc):
            xv[c].addcmul_(torch.cumprod(av[c], 0), xv[c - 1, T - 1:])


def _blocks(b: int, G: int, Eg: int, N: int, Lp: int, max_elems: int):
    """Yields (batch slice, channel slice) blocks of at most max_elems states."""
    per_b = Lp * G * Eg * N
    if per_b <= max_elems:
        step = max(1, max_elems // per_b)
        for i in range(0, b, step):
            yield slice(i, min(b, i + step)), slice(0, Eg)
    else:
        step = max(1, max_elems // (Lp * G * N))
        for i in range(b):
            for e in range(0, Eg, step):
                yield slice(i, i + 1), slice(e, min(Eg, e + step))


def _c(t: torch.Tensor) -> torch.Tensor:
    """The in-place scan views tensors as (chunks, T, rows): they must be dense."""
    return t if t.is_contiguous() else t.contiguous()


def _tm(t: torch.Tensor, pad: int) -> torch.Tensor:
    """(b, G, X, L) -> token-major (Lp, b, G, X), zero-padded at the end."""
    return F.pad(t, (0, pad)).permute(3, 0, 1, 2).contiguous()


class _ChunkedScan(torch.autograd.Function):
    """y = C . h over the recurrence, grouped layout:
    u, dt (b, G, Eg, L); A (G, Eg, N); B, C (b, G, N, L) -> y (b, G, Eg, L)."""

    @staticmethod
    def forward(ctx, u, dt, A, B, C, chunk: int, max_elems: int):
        with torch.autocast(u.device.type, enabled=False):
            return _ChunkedScan._forward(ctx, u, dt, A, B, C, chunk, max_elems)

    @staticmethod
    def backward(ctx, gy):
        with torch.autocast(gy.device.type, enabled=False):
            return _ChunkedScan._backward(ctx, gy.to(ctx.saved_tensors[0].dtype))

    @staticmethod
    def _forward(ctx, u, dt, A, B, C, chunk: int, max_elems: int):
        b, G, Eg, L = u.shape
        N = A.shape[-1]
        T = chunk if chunk > 0 else auto_chunk(L)
        T = min(T, L)
        Lp = -(-L // T) * T
        y = u.new_empty(u.shape)
        Btm, Ctm = _tm(B, Lp - L), _tm(C, Lp - L)                     # (Lp, b, G, N)
        for bs, es in _blocks(b, G, Eg, N, Lp, max_elems):
            dtb, ub = _tm(dt[bs, :, es], Lp - L), _tm(u[bs, :, es], Lp - L)  # (Lp, bb, G, eb)
            a = _c(torch.exp(dtb.unsqueeze(-1) * A[:, es]))          # (Lp, bb, G, eb, N)
            h = _c((dtb * ub).unsqueeze(-1) * Btm[:, bs].unsqueeze(3))  # padding: a = 1, b = 0
            _scan_(h, a, T)
            del a
            eb = dtb.shape[-1]
            yb = torch.matmul(h.view(-1, eb, N), Ctm[:, bs].reshape(-1, N, 1))
            y[bs, :, es] = yb.view(Lp, -1, G, eb)[:L].permute(1, 2, 3, 0)
        ctx.save_for_backward(u, dt, A, B, C)
        ctx.T, ctx.max_elems = T, max_elems
        return y

    @staticmethod
    def _backward(ctx, gy):
        u, dt, A, B, C = ctx.saved_tensors
        T, max_elems = ctx.T, ctx.max_elems
        b, G, Eg, L = u.shape
        N = A.shape[-1]
        Lp = -(-L // T) * T
        pad = Lp - L
        gu, gdt, gA = torch.zeros_like(u), torch.zeros_like(dt), torch.zeros_like(A)
        gBtm = u.new_zeros(Lp, b, G, N)
        gCtm = u.new_zeros(Lp, b, G, N)
        Btm, Ctm = _tm(B, pad), _tm(C, pad)
        gy = gy.contiguous()
        for bs, es in _blocks(b, G, Eg, N, Lp, max_elems):
            dtb, ub, gyb = _tm(dt[bs, :, es], pad), _tm(u[bs, :, es], pad), _tm(gy[bs, :, es], pad)
            Ab = A[:, es]
            eb = dtb.shape[-1]
            Bb, Cb = Btm[:, bs].unsqueeze(3), Ctm[:, bs].unsqueeze(3)   # (Lp, bb, G, 1, N)
            # Recompute the states h (forward) and keep x = dt*u*B.
            dtu = dtb * ub
            x = _c(dtu.unsqueeze(-1) * Bb)
            h = x.clone()
            _scan_(h, _c(torch.exp(dtb.unsqueeze(-1) * Ab)), T)
            # gC = sum_e gy h ;  then x <- h - x = a_t h_{t-1}
            gCtm[:, bs] += torch.matmul(gyb.reshape(-1, 1, eb), h.view(-1, eb, N)).view(Lp, -1, G, N)
            torch.sub(h, x, out=x)
            del h
            # Total state gradient, a reverse recurrence: g_t = gy_t C_t + a_{t+1} g_{t+1}.
            g = _c(gyb.unsqueeze(-1) * Cb)
            dt_next = F.pad(dtb[1:], (0, 0, 0, 0, 0, 0, 0, 1))         # delta_{t+1}, 0 past the end
            _scan_(g, _c(torch.exp(dt_next.unsqueeze(-1) * Ab)), T, reverse=True)
            # Through x_t = dt u B: d(dt u) = sum_n g B ; gB = sum_e g dt u.
            gdtu = torch.matmul(g.view(-1, eb, N), Bb.reshape(-1, N, 1)).view(Lp, -1, G, eb)
            gBtm[:, bs] += torch.matmul(dtu.reshape(-1, 1, eb), g.view(-1, eb, N)).view(Lp, -1, G, N)
            # Through a_t = exp(dt A): q = g * a_t h_{t-1}; gA = sum q dt ; gdt += sum_n q A.
            g.mul_(x)
            del x
            gA[:, es] += (g * dtb.unsqueeze(-1)).sum((0, 1))
            gdtb = (g.mul_(Ab)).sum(-1) + gdtu * ub
            gub = gdtu * dtb
            gdt[bs, :, es] = gdtb[:L].permute(1, 2, 3, 0)
            gu[bs, :, es] = gub[:L].permute(1, 2, 3, 0)
        gB = gBtm[:L].permute(1, 2, 3, 0)
        gC = gCtm[:L].permute(1, 2, 3, 0)
        return gu, gdt, gA, gB, gC, None, None


# ---------------------------------------------------------------------------
# The other implementations and the common wrapper
# ---------------------------------------------------------------------------

def _grouped(u, A, B, C):
    """u-like (b, E, L) -> (b, G, Eg, L) views; A -> (G, Eg, N); B, C -> (b, G, N, L)."""
    B4 = B if B.dim() == 4 else B.unsqueeze(1)
    C4 = C if C.dim() == 4 else C.unsqueeze(1)
    b, G = B4.shape[:2]
    E, L = u.shape[1], u.shape[2]
    return (lambda t: t.reshape(b, G, E // G, L)), A.reshape(G, E // G, A.shape[1]), B4, C4


def _scan_sequential(u, dt, A, B, C):
    view, Ag, Bg, Cg = _grouped(u, A, B, C)
    dtg, dug = view(dt), view(dt * u)                              # (b, G, Eg, L)
    h = u.new_zeros(dtg.shape[:3] + (A.shape[1],))                 # (b, G, Eg, N)
    ys = []
    for t in range(u.shape[2]):
        h = torch.exp(dtg[..., t, None] * Ag) * h + dug[..., t, None] * Bg[:, :, None, :, t]
        ys.append((h * Cg[:, :, None, :, t]).sum(-1))
    return torch.stack(ys, -1).reshape_as(u)


def _scan_assoc(u, dt, A, B, C):
    from torch._higher_order_ops.associative_scan import associative_scan

    def combine(left, right):  # left holds the earlier tokens
        return left[0] * right[0], right[0] * left[1] + right[1]

    view, Ag, Bg, Cg = _grouped(u, A, B, C)
    a = torch.exp(view(dt).unsqueeze(3) * Ag[None, :, :, :, None])    # (b, G, Eg, N, L)
    x = view(dt * u).unsqueeze(3) * Bg.unsqueeze(2)
    h = associative_scan(combine, (a, x), dim=4, combine_mode="pointwise")[1]
    return torch.einsum("bgenl,bgnl->bgel", h, Cg).reshape_as(u)


def _no_compile(fn):
    """torch.compile would try to trace the in-place chunk loops (hundreds of
    unrolled ops); keep the chunked scan eager and let compile fuse the rest."""
    disable = getattr(getattr(torch, "compiler", None), "disable", None)
    return disable(fn) if disable is not None else fn


@_no_compile
def _chunked(u, delta, A, B, C, chunk, max_elems):
    # The state is kept in float32 (or float64) whatever the inputs, as the official
    # kernel does; autocast is off inside the Function, so its matmuls stay exact too.
    f = lambda t: t if t.dtype in (torch.float32, torch.float64) else t.float()  # noqa: E731
    view, Ag, Bg, Cg = _grouped(f(u), f(A), f(B), f(C))
    y = _ChunkedScan.apply(view(f(u)), view(f(delta)), Ag, Bg, Cg, chunk, max_elems)
    return y.reshape(u.shape).to(u.dtype)


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                   impl: str = "auto", chunk: int = 0, max_elems: int = MAX_ELEMS):
    """See the module docstring. chunk: tokens per chunk for "chunked" (0 = auto)."""
    if impl not in IMPLS:
        raise ValueError(f"unknown scan impl {impl!r}; one of {IMPLS}")
    if impl == "auto":
        impl = "mamba" if (_mamba_scan is not None and u.is_cuda) else "chunked"
    _last["impl"] = impl
    if impl == "mamba":
        if _mamba_scan is None:
            raise RuntimeError("impl='mamba' but mamba_ssm does not import")
        return _mamba_scan(u, delta, A, B, C, D, z, delta_bias, delta_softplus)
    if delta_bias is not None:
        delta = delta + delta_bias[:, None]
    if delta_softplus:
        delta = F.softplus(delta)  # threshold 20, as the official kernel
    if impl == "sequential":
        y = _scan_sequential(u, delta, A, B, C)
    elif impl == "assoc":
        y = _scan_assoc(u, delta, A, B, C)
    else:
        y = _chunked(u, delta, A, B, C, chunk, max_elems)
    if D is not None:
        y = y + D[:, None] * u
    if z is not None:
        y = y * F.silu(z)
    return y
