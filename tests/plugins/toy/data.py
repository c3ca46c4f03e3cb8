"""y = x·w + noise, with w drawn from the data seed; validation and test samples of their own sizes' draws."""

import torch


def regression(n: int, features: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    w = torch.randn(features, generator=torch.Generator().manual_seed(seed))
    x = torch.randn(n, features, generator=torch.Generator().manual_seed(seed + 1 + n))
    return x, x @ w + noise * torch.randn(n, generator=torch.Generator().manual_seed(seed + 2 + n))


def datasets(run: dict):
    d = run["data"]
    return regression(d["n_train"], d["features"], d["noise"], d["seed"]), regression(
        d["n_val"], d["features"], d["noise"], d["seed"]
    )


def final_samples(run: dict):
    """Held-out samples for the final evaluation (as many as validation's, from other draws)."""
    d = run["data"]
    return regression(d["n_val"] + 1, d["features"], d["noise"], d["seed"])
