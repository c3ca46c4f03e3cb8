"""A one-node SLURM cluster on localhost for the tests, from Debian's slurmctld, slurmd and munge.

No systemd: munged, ``slurmctld -D`` and ``slurmd -D`` are started as plain processes and stopped again.
The config must sit at /etc/slurm/slurm.conf (a job step's inner srun ignores SLURM_CONF); a file there
that this module did not write is never touched.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# written by testbeds' tests/slurm_cluster.py"
BINARIES = ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "sinfo")


def unavailable_reason() -> str | None:
    missing = [b for b in BINARIES if shutil.which(b) is None and not Path("/usr/sbin", b).exists()]
    if missing:
        return f"SLURM is not installed (missing {', '.join(missing)}; `make test` installs Debian's slurmctld, slurmd, munge as root)"
    if os.geteuid() != 0:
        return "starting slurmctld/slurmd/munged needs root"
    if CONF.exists() and MARKER not in CONF.read_text():
        return f"{CONF} belongs to a real SLURM installation; not touching it"
    return None


def node_line() -> str:
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[0]


def write_conf(state: Path) -> None:
    CONF.parent.mkdir(parents=True, exist_ok=True)
    CONF.write_text(f"""{MARKER}
ClusterName=testbeds
SlurmctldHost={socket.gethostname().split(".")[0]}
{node_line()} State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/d
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
""")


class Cluster:
    def __init__(self, state: Path):
        self.state = state
        self.processes: list[subprocess.Popen] = []
        self.started_munge = False

    def start(self, timeout: float = 30.0) -> None:
        for sub in ("ctld", "d"):
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        write_conf(self.state)
        if subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode != 0:
            for path in ("/run/munge", "/var/log/munge", "/var/lib/munge"):
                Path(path).mkdir(parents=True, exist_ok=True)
                shutil.chown(path, "munge", "munge")
            subprocess.run(["su", "-s", "/bin/sh", "munge", "-c", "/usr/sbin/munged"], check=True)
            self.started_munge = True
        for daemon in ("slurmctld", "slurmd"):
            log = open(self.state / f"{daemon}.out", "w")
            self.processes.append(
                subprocess.Popen([daemon, "-D"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            )
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.strip()
            if state == "idle":
                return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the SLURM test cluster did not come up (sinfo says {state!r}); logs in {self.state}")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.started_munge:
            subprocess.run(["pkill", "-x", "munged"])
        CONF.unlink(missing_ok=True)
