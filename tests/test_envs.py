"""One source of truth for versions: every pin in envs/*.yaml equals requirements.txt (.venv)."""

import re
from pathlib import Path

import pytest
import yaml

from testbeds.workloads import registry

REPO = Path(__file__).resolve().parents[1]
NOT_PYPI = {"python", "pip", "libopenblas"}  # conda-only packages, no counterpart in the venv


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()


def venv_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[normalise(name)] = version.split("+")[0]
    return pins


def env_pins(path: Path) -> dict[str, str]:
    pins = {}
    for dep in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep["pip"]:
                name, version = pip_dep.split("==")
                pins[normalise(name)] = version
        else:
            name, _, version = dep.partition("=")
            pins[normalise(name)] = version
    return pins


@pytest.mark.parametrize("env", sorted((REPO / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_pins_match_the_venv(env):
    venv = venv_pins()
    for name, version in env_pins(env).items():
        if name in NOT_PYPI:
            assert version, f"{env.name}: {name} must be pinned"
            continue
        assert name in venv, f"{env.name}: {name} is not in requirements.txt"
        assert version == venv[name], f"{env.name}: {name}={version} but requirements.txt has {venv[name]}"


def test_every_rule_env_exists():
    text = "".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    for env in set(re.findall(r'"\.\./\.\./(envs/[\w.]+)"', text)):
        assert (REPO / env).exists(), env


# ------------------------------------------------------------------ framework imports vs. rule envs
import ast  # noqa: E402

IMPORT_TO_PACKAGE = {
    "yaml": "pyyaml",
    "mlx": "mlx",
    "torch": "torch",
    "lightning": "lightning",
    "jax": "jax",
    "optax": "optax",
    "flax": "flax",
    "kbeta": "kbeta",
    "numpy": "numpy",
    "pandas": "pandas",
    "scipy": "scipy",
    "seaborn": "seaborn",
    "matplotlib": "matplotlib",
    "tokenizers": "tokenizers",
    "jsonschema": "jsonschema",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
}
SRC = REPO / "src"


def module_file(name: str) -> Path:
    path = SRC / Path(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def module_level_imports(path: Path) -> set[str]:
    """Modules imported when ``path`` is imported (top-level statements; lazy imports in functions excluded)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        for sub in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else []:
            if isinstance(sub, ast.Import):
                names.update(alias.name for alias in sub.names)
            elif isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0:
                names.add(sub.module)
                if sub.module.startswith("testbeds"):  # `from testbeds.optim import mlx_optim` imports a module
                    names.update(
                        f"{sub.module}.{alias.name}"
                        for alias in sub.names
                        if module_file(f"{sub.module}.{alias.name}").exists()
                    )
    return names


def third_party_closure(start: Path) -> set[str]:
    """Third-party packages a file pulls in, following testbeds imports transitively."""
    seen, todo, packages = set(), [start], set()
    while todo:
        path = todo.pop()
        if path in seen or not path.exists():
            continue
        seen.add(path)
        for name in module_level_imports(path):
            top = name.split(".")[0]
            if top == "testbeds":
                todo.append(module_file(name))
                parts = name.split(".")
                todo.extend(module_file(".".join(parts[:i])) for i in range(2, len(parts)))
            elif top in IMPORT_TO_PACKAGE:
                packages.add(IMPORT_TO_PACKAGE[top])
            elif top in ("_bootstrap", "runargs"):
                todo.append(REPO / "scripts" / f"{top}.py")
    return packages


def env_packages(env: str) -> set[str]:
    return set(env_pins(REPO / "envs" / f"{env}.yaml"))


BUILT_IN = {name: spec for name, spec in registry().items() if spec.module.startswith("testbeds.")}


@pytest.mark.parametrize("workload, env", [(name, spec.framework) for name, spec in BUILT_IN.items()])
def test_a_workload_imports_only_what_its_env_holds(workload, env):
    needed = set()
    for step in ("data", "train", "evaluate"):  # data: the generate_data rule runs in the framework's env
        needed |= third_party_closure(SRC / "testbeds" / workload / f"{step}.py")
    for script in ("train", "evaluate", "generate_data"):
        needed |= third_party_closure(REPO / "scripts" / f"{script}.py")
    missing = needed - env_packages(env)
    assert not missing, f"{workload} imports {sorted(missing)}, which envs/{env}.yaml does not contain"
    other_frameworks = {"mlx", "torch", "jax", "lightning"} - {
        "mlx": {"mlx"},
        "jax": {"jax"},
        "torch": {"torch", "lightning"},
    }[env]
    assert not needed & other_frameworks, f"{workload} imports another framework: {sorted(needed & other_frameworks)}"


@pytest.mark.parametrize(
    "script, env",
    [
        ("slice_corpus", "analysis"),
        ("download", "analysis"),
        ("aggregate", "analysis"),
        ("plot", "analysis"),
        ("train_tokenizer", "torch"),
        ("tokenize_corpus", "torch"),
    ],
)
def test_a_data_or_analysis_script_imports_only_what_its_env_holds(script, env):
    missing = third_party_closure(REPO / "scripts" / f"{script}.py") - env_packages(env)
    assert not missing, f"scripts/{script}.py imports {sorted(missing)}, which envs/{env}.yaml does not contain"


@pytest.mark.parametrize("workload", [name for name, spec in BUILT_IN.items() if spec.figures])
def test_a_workloads_own_plots_import_only_what_the_analysis_env_holds(workload):
    missing = third_party_closure(SRC / "testbeds" / workload / "plots.py") - env_packages("analysis")
    assert not missing, f"{workload}/plots.py imports {sorted(missing)}, which envs/analysis.yaml does not contain"


def test_rules_use_the_envs_these_checks_assume():
    rules = {p.stem: p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk")}
    for rule, script, env in [
        ("data", "slice_corpus", "analysis"),
        ("data", "train_tokenizer", "torch"),
        ("data", "tokenize_corpus", "torch"),
        ("aggregate", "aggregate", "analysis"),
        ("data", "generate_data", "the workload's framework"),
        ("tune", "train", "the workload's framework"),
        ("train", "train", "the workload's framework"),  # a final run: trained and evaluated in one job
    ]:
        block = rules[rule].split(f"python scripts/{script}.py")[0].rsplit("rule", 1)[1]
        expected = "framework_env" if env == "the workload's framework" else f"envs/{env}.yaml"
        assert expected in block, f"the rule running scripts/{script}.py does not use {env}'s env"
