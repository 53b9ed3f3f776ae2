"""A learner's script-mode program, run as its own process, works with only helpers.connect() and the SDK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_script_mode_program_trains_serves_transforms_and_tunes(service, tmp_path):
    script = Path(__file__).parent / "programs" / "script_mode_program.py"
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=400,
        env={**__import__("os").environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    assert "training: Completed" in out
    predictions = [float(v) for v in out.split("predictions: ")[1].split("\n")[0].split()]
    assert abs(predictions[0] - 3.0) < 0.3 and abs(predictions[1] - 0.0) < 0.3
    assert "endpoint deleted" in out
    assert out.split("transform: ")[1].split("\n")[0].split() == [f"{v:.2f}" for v in predictions]
    assert "tuning best: " in out and out.rstrip().endswith("done")
