"""Testbed D of the Kourkoutas-β paper (source 001): a GPT-2-style character language model in MLX."""

from testbeds.schedule import piecewise_problem
from testbeds.settings import ConfigError
from testbeds.workloads import Workload


def check(settings: dict, where: str) -> None:
    model, train = settings["model"], settings["train"]
    if train["lmin"] > train["lmax"]:
        raise ConfigError(f"{where}.train.lmin ({train['lmin']}) is larger than train.lmax ({train['lmax']})")
    if train["lmax"] > model["ctx"]:
        raise ConfigError(f"{where}.train.lmax ({train['lmax']}) is larger than model.ctx ({model['ctx']})")
    if model["d_model"] % model["n_head"]:
        raise ConfigError(f"{where}.model.d_model ({model['d_model']}) is not divisible by model.n_head")
    problem = piecewise_problem(train)
    if problem:
        raise ConfigError(f"{where}.train.lr_schedule: {problem}")


WORKLOAD = Workload(framework="mlx", data="corpus", check=check)
