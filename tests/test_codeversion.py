"""The code version of a job follows its imports: a workload's runs depend on its own package, the shared
modules and its framework's optimisers, not on other workloads or the analysis."""

from testbeds.codeversion import REPO, closure, code_version

WORKLOADS = ("charlm", "sotalm", "lot", "lds", "heat2d")


def relative(paths) -> set[str]:
    return {str(p.relative_to(REPO)) for p in paths}


def test_a_training_job_depends_on_its_workload_shared_modules_and_optimisers_only():
    files = relative(closure(("scripts/train.py", "testbeds.charlm.train", "testbeds.optim.mlx_optim")))
    assert {
        "scripts/train.py",
        "scripts/runargs.py",
        "src/testbeds/charlm/model.py",
        "src/testbeds/loop.py",
        "src/testbeds/optim/options.py",
        "src/testbeds/optim/kbeta_mlx.py",
    } <= files
    others = [w for w in WORKLOADS if w != "charlm"] + ["analysis"]
    assert not [f for f in files if any(f.startswith(f"src/testbeds/{o}/") for o in others)]


def test_function_level_imports_are_followed():
    # speedups imports its blas and memory modules inside a function only
    files = relative(closure(("testbeds.speedups",)))
    assert {"src/testbeds/speedups/blas.py", "src/testbeds/speedups/memory.py"} <= files


def test_aggregation_depends_on_the_analysis_not_on_workloads():
    files = relative(closure(("scripts/aggregate.py",)))
    assert "src/testbeds/analysis/stats.py" in files
    assert not [f for f in files if any(f.startswith(f"src/testbeds/{w}/") for w in WORKLOADS)]


def test_versions_differ_between_workloads_and_are_stable():
    versions = {w: code_version("scripts/train.py", f"testbeds.{w}.train") for w in WORKLOADS}
    assert len(set(versions.values())) == len(WORKLOADS)
    assert versions["lds"] == code_version("scripts/train.py", "testbeds.lds.train")
