"""Lattice Oscillator Transformer (source 003) in PyTorch, built so that the oscillators matter.

Heads sit on a 2-D lattice (``lattice_shape``, product = heads). Head h has a phase θ_h, a learned
natural frequency ω_h, a learned coupling κ_h and a learned initial phase θ⁰_h. Inside every forward the
Kuramoto dynamics are integrated for K explicit Euler steps of size Δt, so θ is a differentiable
function of (θ⁰, ω, κ):

    θ_h ← θ_h + Δt (ω_h + κ_h Σ_j w_hj sin(θ_j − θ_h)),   w_hj = exp(−‖pos_h − pos_j‖) for the 8 lattice
                                                            neighbours, 0 otherwise.

The phase enters attention as a relative-offset term that varies along each softmax row (a per-row
constant, as in the source's code, would cancel in the softmax):

    score_h(i, j) = q_i·k_j / √d_h + a_h cos(θ_h + ν_h (i − j)),   j ≤ i (causal).

Kuramoto order parameter r = |mean_h exp(iθ_h)| per layer; the sync loss λ_sync (1 − mean r) and the
diversity loss λ_div exp(−Var(ω)) both have gradient paths. ``vanilla`` is the same trunk with standard
multi-head attention (5 fewer parameters per head and layer). ``phase`` is the ablation that isolates the
oscillators: the same relative-offset term with a free learned phase per head (θ = θ⁰: no ω, no coupling,
no integration; the sync loss still acts on θ, there is no ω for the diversity loss), so lattice against
phase measures the Kuramoto dynamics and phase against vanilla the positional bias. New mechanisms: one
class in ``ATTENTION``.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

INIT_STD = 0.02


def lattice_neighbours(shape: tuple[int, int]) -> torch.Tensor:
    """Coupling weights (H, H): exp(−distance) between 8-neighbours on the lattice, 0 elsewhere."""
    rows, cols = shape
    positions = [(h // cols, h % cols) for h in range(rows * cols)]
    weights = torch.zeros(rows * cols, rows * cols)
    for a, (ra, ca) in enumerate(positions):
        for b, (rb, cb) in enumerate(positions):
            if a != b and max(abs(ra - rb), abs(ca - cb)) == 1:
                weights[a, b] = math.exp(-math.hypot(ra - rb, ca - cb))
    return weights


def causal_mask(T: int, device) -> torch.Tensor:
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


class VanillaAttention(nn.Module):
    """Standard causal multi-head attention with a fused qkv projection."""

    def __init__(self, d_model: int, n_head: int, dropout: float, **_):
        super().__init__()
        self.n_head, self.dropout = n_head, dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.last_entropy = None

    def heads(self, x: torch.Tensor):
        B, T, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=-1)
        return (t.view(B, T, self.n_head, D // self.n_head).transpose(1, 2) for t in (q, k, v))

    def score_bias(self, T: int, device) -> torch.Tensor | None:
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.heads(x)
        scores = q @ k.transpose(-2, -1) / math.sqrt(D // self.n_head)
        bias = self.score_bias(T, x.device)
        if bias is not None:
            scores = scores + bias
        scores = scores.masked_fill(~causal_mask(T, x.device), float("-inf"))
        attn = scores.softmax(-1)
        self.last_entropy = -(attn * attn.clamp_min(1e-12).log()).sum(-1).mean(dim=(0, 2)).detach()  # per head
        attn = F.dropout(attn, self.dropout, self.training)
        return self.out_proj((attn @ v).transpose(1, 2).reshape(B, T, D))

    def sync_order(self) -> torch.Tensor | None:
        return None


class LatticeAttention(VanillaAttention):
    """Kuramoto-coupled heads whose phase shapes which relative offsets each head attends to."""

    def __init__(
        self,
        d_model: int,
        n_head: int,
        dropout: float,
        lattice_shape=(2, 2),
        kuramoto_steps: int = 4,
        dt: float = 0.1,
        init_freq_range=(0.9, 1.1),
        coupling_init: float = 0.1,
        amplitude_init: float = 0.1,
    ):
        super().__init__(d_model, n_head, dropout)
        if lattice_shape[0] * lattice_shape[1] != n_head:
            raise ValueError(f"lattice shape {lattice_shape} does not hold {n_head} heads")
        self.kuramoto_steps, self.dt = kuramoto_steps, dt
        low, high = init_freq_range
        self.omega = nn.Parameter(torch.empty(n_head).uniform_(low, high))
        self.coupling = nn.Parameter(torch.full((n_head,), coupling_init))
        self.phase0 = nn.Parameter(torch.linspace(0, 2 * math.pi, n_head + 1)[:-1].clone())
        self.amplitude = nn.Parameter(torch.full((n_head,), amplitude_init))
        self.offset_freq = nn.Parameter(torch.linspace(0.2, 1.0, n_head))
        self.register_buffer("neighbours", lattice_neighbours(tuple(lattice_shape)), persistent=False)

    def phases(self) -> torch.Tensor:
        theta = self.phase0
        for _ in range(self.kuramoto_steps):
            pull = (self.neighbours * torch.sin(theta[None, :] - theta[:, None])).sum(-1)
            theta = theta + self.dt * (self.omega + self.coupling * pull)
        return theta

    def score_bias(self, T: int, device) -> torch.Tensor:
        offsets = torch.arange(T, device=device)
        delta = (offsets[:, None] - offsets[None, :]).float()  # i − j
        theta = self.phases()
        return self.amplitude[:, None, None] * torch.cos(theta[:, None, None] + self.offset_freq[:, None, None] * delta)

    def sync_order(self) -> torch.Tensor:
        theta = self.phases()
        return torch.sqrt(torch.cos(theta).mean() ** 2 + torch.sin(theta).mean() ** 2)


class PhaseAttention(LatticeAttention):
    """The lattice's relative-offset term with free per-head phases: θ = θ⁰, no dynamics."""

    def __init__(self, d_model: int, n_head: int, dropout: float, amplitude_init: float = 0.1, **_):
        VanillaAttention.__init__(self, d_model, n_head, dropout)
        self.phase0 = nn.Parameter(torch.linspace(0, 2 * math.pi, n_head + 1)[:-1].clone())
        self.amplitude = nn.Parameter(torch.full((n_head,), amplitude_init))
        self.offset_freq = nn.Parameter(torch.linspace(0.2, 1.0, n_head))

    def phases(self) -> torch.Tensor:
        return self.phase0


ATTENTION = {"vanilla": VanillaAttention, "lattice": LatticeAttention, "phase": PhaseAttention}


class Block(nn.Module):
    def __init__(self, d_model: int, n_head: int, dropout: float, attention: str, lattice: dict):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = ATTENTION[attention](d_model, n_head, dropout, **lattice)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, 4 * d_model),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(4 * d_model, d_model),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class LatticeTransformer(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        max_len: int,
        d_model: int,
        n_head: int,
        n_layer: int,
        dropout: float,
        attention: str,
        lattice: dict,
    ):
        super().__init__()
        if attention not in ATTENTION:
            raise ValueError(f"unknown attention '{attention}'; registered: {', '.join(ATTENTION)}")
        self.embed = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Parameter(torch.zeros(1, max_len, d_model))
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d_model, n_head, dropout, attention, lattice) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        nn.init.trunc_normal_(self.pos, std=INIT_STD)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.trunc_normal_(module.weight, std=INIT_STD)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        T = idx.shape[1]
        if T > self.pos.shape[1]:
            raise ValueError(f"sequence length {T} exceeds max_len {self.pos.shape[1]}")
        x = self.drop(self.embed(idx) + self.pos[:, :T])
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))

    def sync_orders(self) -> list[torch.Tensor]:
        return [r for r in (b.attn.sync_order() for b in self.blocks) if r is not None]

    def regularisers(self, lambda_sync: float, lambda_div: float) -> torch.Tensor:
        """λ_sync (1 − mean_l r_l) + λ_div exp(−Var(ω of all layers)); zero for vanilla attention."""
        orders = self.sync_orders()
        if not orders:
            return torch.zeros(())
        sync = lambda_sync * (1 - torch.stack(orders).mean())
        omegas = [b.attn.omega for b in self.blocks if hasattr(b.attn, "omega")]
        return sync + lambda_div * torch.exp(-torch.cat(omegas).var()) if omegas else sync

    def head_phases(self) -> list[list[float]]:
        return [
            b.attn.phases().detach().remainder(2 * math.pi).tolist()
            for b in self.blocks
            if isinstance(b.attn, LatticeAttention)  # and its ablation, PhaseAttention
        ]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def max_length(run: dict) -> int:
    """Positions the model holds: the longest evaluated sequence (a prefix of ``eval.length_factor`` times the
    trained length, reversed); positions past the trained ones are never trained."""
    return 2 * run["data"]["prefix_len"] * run["eval"]["length_factor"]


def build_model(run: dict) -> LatticeTransformer:
    torch.manual_seed(run["seed"])
    m, d = run["model"], run["data"]
    keys = {
        "lattice": ("lattice_shape", "kuramoto_steps", "dt", "init_freq_range", "coupling_init", "amplitude_init"),
        "phase": ("amplitude_init",),
        "vanilla": (),
    }[m["attention"]]
    lattice = {k: m[k] for k in keys}
    return LatticeTransformer(
        d["vocab_size"],
        max_length(run),
        m["d_model"],
        m["n_head"],
        m["n_layer"],
        m["dropout"],
        m["attention"],
        lattice,
    )
