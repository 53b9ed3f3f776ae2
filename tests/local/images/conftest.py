"""Helpers for running algorithm images as SageMaker would: a job folder, a process, HTTP calls."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[3]


def regression_rows(count: int, seed: int, features: int = 5) -> np.ndarray:
    """``count`` rows of ``label, f1..fn`` with a learnable linear label."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, features))
    y = 10 + 3 * x[:, 0] - 2 * x[:, 1] + 0.1 * rng.normal(size=count)
    return np.column_stack([y, x])


def to_csv(rows: np.ndarray) -> str:
    return "\n".join(",".join(f"{v:.6g}" for v in row) for row in rows) + "\n"


def csv_channels(
    train: np.ndarray, validation: np.ndarray | None = None, content_type: str | None = "text/csv"
) -> dict[str, tuple[str | None, dict[str, str]]]:
    """``make_ml_root`` channels: ``train`` and, when given, ``validation`` as one CSV file each."""
    channels = {"train": (content_type, {"train.csv": to_csv(train)})}
    if validation is not None:
        channels["validation"] = (content_type, {"validation.csv": to_csv(validation)})
    return channels


def make_ml_root(
    base: Path,
    hyperparameters: dict[str, object],
    channels: dict[str, tuple[str | None, dict[str, str]]],
) -> Path:
    """An /opt/ml-like folder: ``channels`` maps a name to (ContentType, {file name: text})."""
    root = base / "ml"
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (root / "model").mkdir()
    (root / "output").mkdir()
    (config / "hyperparameters.json").write_text(json.dumps({k: str(v) for k, v in hyperparameters.items()}))
    data_config = {}
    for name, (content_type, files) in channels.items():
        entry = {
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
        if content_type:
            entry["ContentType"] = content_type
        data_config[name] = entry
        folder = root / "input" / "data" / name
        folder.mkdir(parents=True)
        for file_name, text in files.items():
            (folder / file_name).write_text(text)
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    return root


def run_image(module: str, command: str, root: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, SAGEMAKER_OPT_ML=str(root), PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", module, command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def failure_reason(root: Path) -> str:
    return (root / "output" / "failure").read_text()


def http_call(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def invoke(port: int, body: bytes, content_type: str | None = "text/csv", accept: str | None = None):
    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if accept:
        headers["Accept"] = accept
    return http_call(port, "POST", "/invocations", body, headers)


@contextmanager
def model_server(module: str, root: Path, environment: dict[str, str] | None = None) -> Iterator[int]:
    """Start ``python -m <module> serve`` on a free port, wait for /ping, stop it afterwards."""
    port = free_port()
    env = dict(
        os.environ, SAGEMAKER_OPT_ML=str(root), SAGEMAKER_BIND_TO_PORT=str(port), **(environment or {})
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "serve"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the model server exited early:\n{proc.stdout.read()}")
            try:
                if http_call(port, "GET", "/ping")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise AssertionError("the model server did not answer /ping within 60 s")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


@pytest.fixture
def train_rows() -> np.ndarray:
    return regression_rows(200, seed=0)
