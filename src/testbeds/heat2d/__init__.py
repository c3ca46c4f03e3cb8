"""The 2-D heat-diffusion transformer of source 000 in MLX: FTCS-solved meshes, causal or block masks, rollouts."""

from testbeds.schedule import piecewise_problem
from testbeds.settings import ConfigError
from testbeds.workloads import Figure, Workload

FRAME_ERROR_COLUMNS = ["frame", "one_shot_mse", "rollout_mse"]  # frame_errors.csv


def check(settings: dict, where: str) -> None:
    data, model = settings["data"], settings["model"]
    if data["source"] == "generated":
        for key in ("nx", "ny"):
            if data[key] % model["patch"]:
                raise ConfigError(f"{where}.model.patch ({model['patch']}) does not divide data.{key} ({data[key]})")
        window = settings["train"]["frames"] or data["frames"]
        if model["context_frames"] >= min(window, data["frames"]):
            raise ConfigError(
                f"{where}.model.context_frames ({model['context_frames']}) leaves no frame of "
                f"data.frames ({data['frames']}) / train.frames ({window}) to predict"
            )
        for key in ("alpha", "left", "right", "bottom", "top", "initial"):
            low, high = data[key]
            if low > high:
                raise ConfigError(f"{where}.data.{key}: [{low}, {high}] is empty")
        if data["alpha"][0] <= 0:
            raise ConfigError(f"{where}.data.alpha: the diffusivity must be positive, not {data['alpha'][0]}")
    elif not data["path"]:
        raise ConfigError(f"{where}.data.path: source 'file' needs the path of a [samples, t, ny, nx] .npy or .npz")
    if sum(data["split"]) >= 1:
        raise ConfigError(f"{where}.data.split: {data['split']} leaves no test split")
    if (model["dim"] // model["heads"]) % 2 or model["dim"] % model["heads"]:
        raise ConfigError(f"{where}.model.heads: dim ({model['dim']}) / heads must be an even integer (RoPE)")
    problem = piecewise_problem(settings["train"])
    if problem:
        raise ConfigError(f"{where}.train.lr_schedule: {problem}")


WORKLOAD = Workload(
    framework="mlx",
    data="generated",
    check=check,
    data_inputs=lambda data: [data["path"]] if data["source"] == "file" else [],
    run_files=("frame_errors.csv", "frames.npz"),
    figures=(
        Figure("frame_errors.png", "frame_errors.rst"),
        Figure("frames.png", "frames.rst"),
        Figure("frame_errors_heat2d.csv", "frame_errors_table.rst", table=True),
    ),
    figure_directory="runs",
)
