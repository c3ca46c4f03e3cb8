"""The 2-D heat-diffusion transformer (source 000) in MLX, built as its README describes.

Tokens are (frame, patch) pairs: each frame is cut into p x p patches; every pixel carries its temperature
and two learnable Fourier-feature channels sin(2π(w_c·(x, y)) + b_c), and a patch's 3p² values are
projected to the embedding (trained, not frozen). Time enters as RoPE on the frame index inside
attention (or, switched, as a sinusoidal encoding added to the tokens); α enters as a learned
conditioning embedding added to every token. Pre-LN blocks (ReLU MLP, as MLX's TransformerEncoder in
the seed), then LN and a linear head give each token the change of its p x p patch to the *next* frame,
added to the newest true frame the token sees; the head starts at zero, so an untrained model is the
persistence forecast.

Masks over frames (token i of frame f_i may see token j of frame f_j):
- ``causal``: f_j <= f_i — autoregressive, frame f + 1 is predicted from frames <= f;
- ``block``: f_j <= min(f_i, P - 1) and frames >= P are zeroed on input — the first P frames are the
  context of every prediction.
Either way the frame a token predicts is never visible to it (no target leak).
"""

from __future__ import annotations

import math

import mlx.core as mx
import mlx.nn as nn

MASKS = ("causal", "block")


def frame_mask(frames: int, patches: int, mode: str, context: int) -> mx.array:
    """Additive attention mask (L, L) over L = frames x patches tokens ordered frame-major."""
    f = mx.repeat(mx.arange(frames), patches)
    limit = f if mode == "causal" else mx.minimum(f, context - 1)
    allowed = f[None, :] <= limit[:, None]
    return mx.where(allowed, 0.0, -mx.inf).astype(mx.float32)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, rope: nn.RoPE | None):
        super().__init__()
        self.heads, self.rope = heads, rope
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def rotate_by_frame(self, x: mx.array, frames: int) -> mx.array:
        """RoPE on the frame index of (B, H, frames x patches, d), frame-major: ``nn.RoPE`` rotates by the
        position along the second-to-last axis, so frames go there while it runs."""
        B, H, L, d = x.shape
        by_patch = x.reshape(B, H, frames, L // frames, d).swapaxes(2, 3)
        return self.rope(by_patch).swapaxes(2, 3).reshape(B, H, L, d)

    def __call__(self, x, mask, frames):
        B, L, D = x.shape
        q, k, v = (t.reshape(B, L, self.heads, -1).transpose(0, 2, 1, 3) for t in mx.split(self.qkv(x), 3, axis=-1))
        if self.rope is not None:
            q, k = self.rotate_by_frame(q, frames), self.rotate_by_frame(k, frames)
        y = mx.fast.scaled_dot_product_attention(q, k, v, scale=1 / math.sqrt(D // self.heads), mask=mask)
        return self.out(y.transpose(0, 2, 1, 3).reshape(B, L, D))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp: int, rope: nn.RoPE | None):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, rope)
        self.fc, self.proj = nn.Linear(dim, mlp), nn.Linear(mlp, dim)

    def __call__(self, x, mask, frames):
        x = x + self.attn(self.ln1(x), mask, frames)
        return x + self.proj(nn.relu(self.fc(self.ln2(x))))


class FourierFeatures(nn.Module):
    """Two learnable channels sin(2π (w_c · (x, y)) + b_c) at every grid point of the unit square, each
    channel with its own frequency vector. They start at a quarter turn along x and along y: each channel
    is then monotone in one coordinate, so no two pixels, and no two patches, have the same features."""

    def __init__(self, ny: int, nx: int):
        super().__init__()
        y, x = mx.meshgrid(mx.linspace(0, 1, ny), mx.linspace(0, 1, nx), indexing="ij")
        self._coords = mx.stack([x, y], axis=-1)  # (ny, nx, 2), not a parameter
        self.w = mx.array([[0.25, 0.0], [0.0, 0.25]])  # (channel, coordinate)
        self.b = mx.zeros((2,))

    def __call__(self) -> mx.array:
        return mx.sin(2 * math.pi * (self._coords @ self.w.T) + self.b)  # (ny, nx, 2)


class HeatTransformer(nn.Module):
    def __init__(
        self,
        ny: int,
        nx: int,
        frames: int,
        patch: int,
        dim: int,
        heads: int,
        layers: int,
        mlp: int,
        mask: str,
        context: int,
        time_encoding: str = "rope",
        rope_base: float = 100.0,
    ):
        super().__init__()
        if ny % patch or nx % patch:
            raise ValueError(f"patch {patch} does not divide the {ny}x{nx} mesh")
        self.ny, self.nx, self.frames, self.patch = ny, nx, frames, patch
        self.patches = (ny // patch) * (nx // patch)
        self.mask_mode, self.context = mask, context
        rope = nn.RoPE(dim // heads, base=rope_base) if time_encoding == "rope" else None
        # sinusoidal: sin/cos of the frame index at frequencies from 1 down to 1/rope_base, added to the tokens
        self.sinusoidal = None if rope else nn.SinusoidalPositionalEncoding(dim, 1 / rope_base, 1.0, scale=1.0)
        self.fourier = FourierFeatures(ny, nx)
        self.embed = nn.Linear(3 * patch * patch, dim)
        self.alpha_embed = nn.Linear(1, dim)
        self.blocks = [Block(dim, heads, mlp, rope) for _ in range(layers)]
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, patch * patch)
        self.head.weight = mx.zeros_like(self.head.weight)  # start as "no change": the persistence forecast
        self.head.bias = mx.zeros_like(self.head.bias)

    def to_patches(self, x: mx.array) -> mx.array:
        """(B, T, ny, nx, C) -> (B, T * patches, p * p * C), frame-major."""
        B, T, ny, nx, C = x.shape
        p = self.patch
        x = x.reshape(B, T, ny // p, p, nx // p, p, C).transpose(0, 1, 2, 4, 3, 5, 6)
        return x.reshape(B, T * self.patches, p * p * C)

    def from_patches(self, x: mx.array, T: int) -> mx.array:
        """(B, T * patches, p * p) -> (B, T, ny, nx)."""
        B, p = x.shape[0], self.patch
        x = x.reshape(B, T, self.ny // p, self.nx // p, p, p).transpose(0, 1, 2, 4, 3, 5)
        return x.reshape(B, T, self.ny, self.nx)

    def __call__(self, fields: mx.array, alpha: mx.array) -> mx.array:
        """fields (B, T, ny, nx), alpha (B,) -> predictions (B, T, ny, nx): output t is the model's frame t + 1."""
        B, T = fields.shape[:2]
        if self.mask_mode == "block":  # frames past the context are never inputs
            fields = fields * (mx.arange(T) < self.context).reshape(1, T, 1, 1)
        features = mx.broadcast_to(self.fourier()[None, None], (B, T, self.ny, self.nx, 2))
        x = self.embed(self.to_patches(mx.concatenate([fields[..., None], features], axis=-1)))
        x = x + self.alpha_embed(alpha.reshape(B, 1, 1).astype(x.dtype))
        if self.sinusoidal is not None:
            x = x + self.sinusoidal(mx.repeat(mx.arange(T), self.patches)).astype(x.dtype)
        mask = frame_mask(T, self.patches, self.mask_mode, self.context)
        for block in self.blocks:
            x = block(x, mask, T)
        return self.latest_visible(fields) + self.from_patches(self.head(self.ln(x)), T)

    def latest_visible(self, fields: mx.array) -> mx.array:
        """The newest true frame each position sees (frame t; in block mode at most frame P - 1): the
        prediction is this frame plus the predicted change."""
        if self.mask_mode == "causal":
            return fields
        T = fields.shape[1]
        last = fields[:, self.context - 1 : self.context]
        return mx.concatenate([fields[:, : self.context], mx.repeat(last, T - self.context, axis=1)], axis=1)


def count_parameters(model: nn.Module) -> int:
    from mlx.utils import tree_flatten

    return sum(v.size for _, v in tree_flatten(model.trainable_parameters()))


def build_model(run: dict, manifest: dict) -> HeatTransformer:
    m = run["model"]
    mx.random.seed(run["seed"])
    return HeatTransformer(
        manifest["ny"],
        manifest["nx"],
        manifest["frames"],
        m["patch"],
        m["dim"],
        m["heads"],
        m["layers"],
        m["mlp"],
        m["mask"],
        m["context_frames"],
        m["time_encoding"],
        m["rope_base"],
    )


def rollout(model: HeatTransformer, fields: mx.array, alpha: mx.array) -> mx.array:
    """Frames 0..T-1 where frames >= P are the model's own: causal feeds back each predicted frame,
    block predicts them all from the P context frames at once."""
    T, P = fields.shape[1], model.context
    if model.mask_mode == "block":
        return mx.concatenate([fields[:, :P], model(fields, alpha)[:, P - 1 : T - 1]], axis=1)
    forward = mx.compile(model, inputs=model.state)  # one compiled forward for the T - P steps, current weights
    frames = [fields[:, t] for t in range(P)]
    for t in range(P - 1, T - 1):
        known = mx.stack(frames + [mx.zeros_like(frames[0])] * (T - len(frames)), axis=1)
        frames.append(forward(known, alpha)[:, t])
        mx.eval(frames[-1])
    return mx.stack(frames, axis=1)


def one_shot(model: HeatTransformer, fields: mx.array, alpha: mx.array) -> mx.array:
    """Teacher-forced: every frame t + 1 predicted from the true frames the mask lets position t see."""
    return mx.concatenate([fields[:, :1], model(fields, alpha)[:, :-1]], axis=1)
