"""A researcher's own optimiser, outside testbeds: Signum (signSGD with momentum, Bernstein et al. 2018)
for torch. A config entry names its factory: `{import: "signum:make", framework: torch, momentum: 0.9}`."""

import torch


class Signum(torch.optim.Optimizer):
    def __init__(self, params, lr: float, momentum: float = 0.9):
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in (p for p in group["params"] if p.grad is not None):
                m = self.state[p].setdefault("momentum", torch.zeros_like(p))
                m.mul_(group["momentum"]).add_(p.grad, alpha=1 - group["momentum"])
                p.add_(m.sign(), alpha=-group["lr"])


def make(options: dict, params, learning_rate: float) -> Signum:
    """testbeds calls a torch factory with the entry's options, the model's (name, parameter) pairs and lr."""
    return Signum([p for _, p in params], learning_rate, **options)
