"""A learner's script-mode program, run as its own process, works with only helpers.connect() and the SDK."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_script_mode_program_with_sklearn_pytorch_xgboost_and_model_trainer(service, tmp_path):
    script = Path(__file__).parent / "programs" / "script_mode_program.py"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    assert "training: Completed" in out
    predictions = [float(v) for v in out.split("predictions: ")[1].split("\n")[0].split()]
    assert abs(predictions[0] - 3.0) < 0.3 and abs(predictions[1] - 0.0) < 0.3
    assert "endpoint deleted" in out
    assert out.split("transform: ")[1].split("\n")[0].split() == [f"{v:.2f}" for v in predictions]
    assert "tuning best: " in out
    # y = 1 + 2 x1 - x2: (1, 0, 0) -> 3, (0, 1, 0) -> 0, learnt by each framework's own script.
    for framework in ("pytorch", "xgboost"):
        values = [float(v) for v in out.split(f"{framework} predictions: ")[1].split("\n")[0].split()]
        assert abs(values[0] - 3.0) < 0.6 and abs(values[1] - 0.0) < 0.6, (framework, values)
    assert "model trainer: Completed" in out
    assert out.rstrip().endswith("done")
