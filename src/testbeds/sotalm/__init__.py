"""The "SOTA" transformer language model of source 004 (RMSNorm, RoPE, SwiGLU) in PyTorch, on a BPE-tokenised corpus."""

from testbeds.settings import ConfigError
from testbeds.workloads import Workload


def check(settings: dict, where: str) -> None:
    model, train = settings["model"], settings["train"]
    if model["d_model"] % model["n_head"] or (model["d_model"] // model["n_head"]) % 2:
        raise ConfigError(f"{where}.model.n_head: d_model ({model['d_model']}) / n_head must be an even integer (RoPE)")
    if (train["steps"] is None) == (train["epochs"] is None):
        raise ConfigError(f"{where}.train.steps / train.epochs: set exactly one of them (the other null)")


WORKLOAD = Workload(framework="torch", data="tokenized", check=check, run_files=("samples.json",))
