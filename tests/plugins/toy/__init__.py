"""A minimal workload defined outside the package, to prove that a workload is a plug-in: least-squares
regression with a torch linear model, its data made in the job."""

from testbeds.settings import ConfigError
from testbeds.workloads import Workload


def check(settings: dict, where: str) -> None:
    if settings["data"]["n_val"] > settings["data"]["n_train"]:
        raise ConfigError(f"{where}.data.n_val is larger than data.n_train")


WORKLOAD = Workload(framework="torch", data="in-job", check=check)
