"""Test MSE of the final checkpoint."""

from pathlib import Path

import torch

from testbeds.evaluation import Description, Evaluation, Scores
from testbeds.torch_loop import load_model, use_device

from toy.data import final_samples
from toy.model import build_model, mse


class ToyEvaluation(Evaluation):
    def describe(self, run: dict, summary: dict, data_dir) -> Description:
        return Description(primary="test_mse", curve="val_loss", data_source="toy regression (generated)")

    def score(self, run: dict, checkpoint: Path, data_dir) -> Scores:
        model = load_model(build_model(run), checkpoint, use_device(run))
        x, y = final_samples(run)
        with torch.no_grad():
            return Scores(metrics={"test_mse": mse(model, x, y).item()})


evaluate = ToyEvaluation()
