"""How the project's modules depend on each other: no circle, a settings leaf, a training job without the planner."""

import re
import subprocess
import sys

from testbeds.codeversion import imported_modules
from testbeds.settings import REPO

SRC = REPO / "src"


def project_modules() -> dict[str, tuple]:
    """module name -> (file, the package its relative imports start from), for every module under src/testbeds."""
    modules = {}
    for path in (SRC / "testbeds").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
            package = ".".join(parts)
        else:
            package = ".".join(parts[:-1])
        modules[".".join(parts)] = (path, package)
    return modules


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports, at module level or inside a function."""
    modules = project_modules()
    return {
        name: {other for other in imported_modules(path, package) if other in modules and other != name}
        for name, (path, package) in modules.items()
    }


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_two_project_modules_import_each_other_in_a_circle():
    # mutation: tuning.apply importing set_dotted from testbeds.config again (config imports tuning)
    assert circles(import_graph()) == []


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_settings_is_a_leaf_that_the_run_side_modules_import():
    graph = import_graph()
    assert graph["testbeds.settings"] == set()
    for module in ("testbeds.runio", "testbeds.loop", "testbeds.tuning", "testbeds.codeversion", "testbeds.config"):
        assert "testbeds.settings" in graph[module], module


def test_a_training_job_imports_no_planner_module():
    """A pipeline job (scripts/train.py's --run-json path, every workload's train and evaluate modules, every
    floor) runs with the planner's modules made unimportable."""
    # mutation: loop.py or runio.py importing config_hash from testbeds.config; runargs importing config at the top
    job = f"""
import importlib.abc, sys
PLANNER = {{"testbeds.config", "testbeds.tuning"}}

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in PLANNER:
            raise ImportError(f"a training job imported the planner module {{name}}")
        return None

sys.meta_path.insert(0, Refuse())
sys.path.insert(0, {str(REPO / "scripts")!r})
import argparse, json
import runargs
from testbeds import workloads
for name in workloads.registry():
    workloads.step(name, "train")
    workloads.step(name, "evaluate")
import testbeds.mlx_loop, testbeds.torch_loop, testbeds.jax_loop
parser = argparse.ArgumentParser()
runargs.add_run_arguments(parser)
run = runargs.resolve(parser.parse_args(["--run-json", json.dumps({{"train": {{"steps": 1}}}}), "--set", "train.steps=3"]))
assert run == {{"train": {{"steps": 3}}}}, run
assert not PLANNER & set(sys.modules)
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", job], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"


def workload_files() -> list:
    """Every module of the built-in workloads and of the test plug-ins."""
    from testbeds import workloads

    built_in = [SRC / "testbeds" / name for name in workloads.registry() if (SRC / "testbeds" / name).is_dir()]
    return [path for folder in [*built_in, REPO / "tests" / "plugins"] for path in sorted(folder.rglob("*.py"))]


def test_workloads_leave_checkpoint_files_devices_and_threads_to_their_floor():
    """The floors write and read their checkpoints and set device and threads, for training and scoring."""
    # mutation: sotalm's evaluation opening checkpoint / "state.pt" or calling torch.set_num_threads again
    from testbeds import jax_loop, mlx_state, torch_loop

    files = {torch_loop.STATE_FILE, torch_loop.LIGHTNING_FILE, jax_loop.STATE_FILE}
    files |= {mlx_state.MODEL_FILE, mlx_state.OPTIMIZER_FILE, mlx_state.TRAINING_FILE}
    setup = {"resolve_torch", "resolve_mlx", "resolve_jax", "set_num_threads"}
    found = [
        f"{path.relative_to(REPO)}: {name}"
        for path in workload_files()
        for name in sorted(files | setup)
        if name in path.read_text()
    ]
    assert len(workload_files()) > 30 and found == []


def test_test_modules_share_code_through_helper_modules_only():
    """Shared test code lives in helper modules (helpers, optim_streams, ...), not in conftest or a test module."""
    # mutation: test_charlm importing tiny_run from conftest again
    found = [
        f"{path.name}: {line}"
        for path in sorted((REPO / "tests").glob("test_*.py"))
        for line in path.read_text().splitlines()
        if re.match(r"\s*(from|import) (conftest|test_\w+)\b", line)
    ]
    assert found == []
