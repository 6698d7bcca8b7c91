"""`finetune.optimise`, the one optimiser loop (fine-tuning and the cross-encoder benchmark)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from sea_core.finetune import optimise  # noqa: E402


def _quadratic(target: float = 3.0):
    weight = torch.nn.Parameter(torch.zeros(1))

    def loss():
        return ((weight - target) ** 2).sum()

    return weight, loss


def test_steps_lower_the_loss_and_report_the_last_one():
    weight, loss = _quadratic()
    before = float(loss().detach())
    summary = optimise([("weight", weight)], [loss] * 200, 0.1, 0.1, 0.0)
    assert summary["steps"] == 200
    assert summary["final_loss"] < before / 10
    assert abs(float(weight.detach()) - 3.0) < 1.0


def test_no_steps_leave_the_parameters_and_report_nan():
    weight, _ = _quadratic()
    summary = optimise([("weight", weight)], [], 0.1, 0.1, 0.0)
    assert summary["steps"] == 0 and math.isnan(summary["final_loss"])
    assert float(weight.detach()) == 0.0


def test_progress_every_ten_steps_and_at_the_end_names_the_epoch():
    weight, loss = _quadratic()
    seen: list[tuple[float, str]] = []
    optimise(
        [("weight", weight)], [loss] * 25, 0.1, 0.0, 0.0, lambda share, text: seen.append((share, text)), 5
    )
    assert [round(share, 2) for share, _ in seen] == [0.4, 0.8, 1.0]
    assert seen[0][1].startswith("epoch 2/5, step 10/25") and seen[-1][1].startswith("epoch 5/5, step 25/25")


def test_biases_and_layer_norms_are_not_decayed():
    decayed = torch.nn.Parameter(torch.ones(1))
    bias = torch.nn.Parameter(torch.ones(1))

    def loss():
        return (decayed * 0 + bias * 0).sum()  # zero gradient: only weight decay moves a parameter

    optimise([("layer.weight", decayed), ("layer.bias", bias)], [loss] * 5, 0.1, 0.0, 0.5)
    assert float(decayed.detach()) < 1.0
    assert float(bias.detach()) == 1.0
