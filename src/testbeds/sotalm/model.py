"""The "SOTA" transformer LM of source 004 in PyTorch: RMSNorm, rotary embeddings, SwiGLU, pre-norm.

Token embedding (no positional table) -> blocks [x += Drop(Attn(RMSNorm x)); x += Drop(SwiGLU(RMSNorm x))]
-> RMSNorm -> untied linear head. No biases; every weight N(0, 0.02). Attention uses
``scaled_dot_product_attention`` with a causal mask and true rotary embeddings (Llama/NeoX
rotate-half: each pair (i, i + d/2) is rotated by angle pos * base^(-2i/d)); the source's own RoPE
pairs (i, i + d/2) but interleaves cos/sin, which is not a rotation. ``generate`` samples with a
KV cache, temperature, top-k and top-p.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

INIT_STD = 0.02


def swiglu_hidden(d_model: int) -> int:
    """The source's hidden size: int(8d/3) rounded up to a multiple of 256 (d 512 -> 1536)."""
    return math.ceil(int(8 * d_model / 3) / 256) * 256


def rope_tables(seq_len: int, head_dim: int, base: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of shape (seq_len, head_dim) in rotate-half layout."""
    inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    first, second = x.chunk(2, dim=-1)
    return torch.cat([-second, first], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate x (B, H, T, D) by the angles of its positions (cos/sin of shape (T, D))."""
    return x * cos + rotate_half(x) * sin


class Attention(nn.Module):
    def __init__(self, d_model: int, n_head: int, dropout: float):
        super().__init__()
        self.n_head, self.dropout = n_head, dropout
        self.q = nn.Linear(d_model, d_model, bias=False)
        self.k = nn.Linear(d_model, d_model, bias=False)
        self.v = nn.Linear(d_model, d_model, bias=False)
        self.o = nn.Linear(d_model, d_model, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = (
            proj(x).view(B, T, self.n_head, D // self.n_head).transpose(1, 2) for proj in (self.q, self.k, self.v)
        )
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        # a query at position p may see keys 0..p: causal within the new tokens, all cached keys before them
        causal = T > 1
        if causal and k.shape[2] != T:
            raise ValueError("a multi-token forward with a non-empty cache is not supported")
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal, dropout_p=self.dropout if self.training else 0.0)
        return self.o(y.transpose(1, 2).reshape(B, T, D))


class SwiGLU(nn.Module):
    def __init__(self, d_model: int):
        super().__init__()
        hidden = swiglu_hidden(d_model)
        self.gate = nn.Linear(d_model, hidden, bias=False)
        self.up = nn.Linear(d_model, hidden, bias=False)
        self.down = nn.Linear(hidden, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    def __init__(self, d_model: int, n_head: int, dropout: float):
        super().__init__()
        self.attn_norm, self.attn = nn.RMSNorm(d_model, eps=1e-5), Attention(d_model, n_head, dropout)
        self.mlp_norm, self.mlp = nn.RMSNorm(d_model, eps=1e-5), SwiGLU(d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, cos, sin, cache=None):
        x = x + self.drop(self.attn(self.attn_norm(x), cos, sin, cache))
        return x + self.drop(self.mlp(self.mlp_norm(x)))


class SotaTransformer(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        d_model: int,
        n_head: int,
        n_layer: int,
        seq_len: int,
        dropout: float = 0.0,
        rope_base: float = 10000.0,
    ):
        super().__init__()
        self.seq_len = seq_len
        self.embed = nn.Embedding(vocab_size, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_head, dropout) for _ in range(n_layer))
        self.norm = nn.RMSNorm(d_model, eps=1e-5)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        cos, sin = rope_tables(seq_len, d_model // n_head, rope_base)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.drop = nn.Dropout(dropout)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=INIT_STD)

    def forward(self, idx: torch.Tensor, caches: list[dict] | None = None, start: int = 0) -> torch.Tensor:
        T = idx.shape[1]
        if start + T > self.seq_len:
            raise ValueError(f"positions up to {start + T} exceed the model's seq_len {self.seq_len}")
        cos, sin = self.cos[start : start + T], self.sin[start : start + T]
        x = self.drop(self.embed(idx))
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, None if caches is None else caches[i])
        return self.head(self.norm(x))

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 0.8,
        top_k: int | None = 50,
        top_p: float | None = 0.95,
        generator: torch.Generator | None = None,
        use_cache: bool = True,
    ) -> torch.Tensor:
        """Sample up to ``max_new_tokens`` after ``idx`` (B, T), stopping at the model's seq_len."""
        caches = [{} for _ in self.blocks] if use_cache else None
        logits = self(idx, caches)[:, -1]
        for _ in range(max_new_tokens):
            if idx.shape[1] >= self.seq_len:
                break
            token = sample(logits, temperature, top_k, top_p, generator)
            idx = torch.cat([idx, token], dim=1)
            if use_cache:
                logits = self(token, caches, start=idx.shape[1] - 1)[:, -1]
            else:
                logits = self(idx)[:, -1]
        return idx


def sample(
    logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None, generator: torch.Generator | None
) -> torch.Tensor:
    """One token per row: temperature, then top-k, then nucleus (the most likely token always stays)."""
    if temperature <= 0:
        return logits.argmax(-1, keepdim=True)
    logits = logits / temperature
    if top_k:
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop = cumulative - sorted_logits.softmax(-1) > top_p  # mass before this token already exceeds top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    return torch.multinomial(logits.softmax(-1), 1, generator=generator)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def build_model(run: dict, vocab_size: int) -> SotaTransformer:
    torch.manual_seed(run["seed"])
    m = run["model"]
    return SotaTransformer(vocab_size, m["d_model"], m["n_head"], m["n_layer"], m["seq_len"], m["dropout"])
