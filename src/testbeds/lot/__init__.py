"""The Lattice Oscillator Transformer of source 003 on copy-reverse sequences, in PyTorch Lightning."""

from testbeds.settings import ConfigError
from testbeds.workloads import Figure, Workload


def check(settings: dict, where: str) -> None:
    model = settings["model"]
    rows, cols = model["lattice_shape"]
    if rows * cols != model["n_head"]:
        raise ConfigError(f"{where}.model.lattice_shape: {rows}x{cols} does not hold n_head = {model['n_head']} heads")
    if model["d_model"] % model["n_head"]:
        raise ConfigError(f"{where}.model.n_head: d_model ({model['d_model']}) is not divisible by n_head")
    low, high = model["init_freq_range"]
    if low > high:
        raise ConfigError(f"{where}.model.init_freq_range: [{low}, {high}] is empty")


WORKLOAD = Workload(
    framework="torch",
    data="in-job",
    check=check,
    figures=(Figure("phases.png", "phases.rst"), Figure("order_parameter.png", "order_parameter.rst")),
)
