"""A boto3 program written without the course in mind works after `python -m helpers.local env`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers.local.core.config import client_environment


def test_plain_boto3_program_trains_transforms_and_reports_bad_hyperparameters(service, tmp_path):
    exported = subprocess.run(
        [sys.executable, "-m", "helpers.local", "env",
         "--port", str(service.port), "--state-dir", str(service.state_dir)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    # Run the program through a shell that evals exactly what the CLI printed.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    script = Path(__file__).parent / "programs" / "plain_boto3.py"
    result = subprocess.run(
        ["bash", "-c", f'eval "$1" && exec "{sys.executable}" "{script}"', "bash", exported],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "status: Completed" in out
    assert "artifact files: ['xgboost-model']" in out
    assert "transform: Completed" in out
    predictions = [
        float(v)
        for v in out.split("predictions: ")[1].split("\n")[0].strip("[]").replace("'", "").split(", ")
    ]
    assert len(predictions) == 2 and abs(predictions[0] - 3.0) < 1.5 and abs(predictions[1] - 10.0) < 2.5
    assert "bad job: Failed" in out and "max_depth" in out.split("bad job:")[1]
    assert set(client_environment(service)) <= {
        line.split("=")[0].removeprefix("export ") for line in exported.splitlines()
    }
