"""The SageMaker container contract, as seen from inside an algorithm image.

An image runs as ``python -m helpers.local.images.<image> train|serve``. The folder that stands in
for ``/opt/ml`` comes from ``SAGEMAKER_OPT_ML`` and is laid out as on SageMaker::

    input/config/hyperparameters.json   every value a string
    input/config/inputdataconfig.json   {channel: {"ContentType": ..., "TrainingInputMode": ...}}
    input/config/resourceconfig.json    {"current_host": "algo-1", "hosts": ["algo-1"]}
    input/data/<channel>/...            the channel's files
    model/                              what training leaves here becomes model.tar.gz
    output/failure                      why training failed, read back as the FailureReason

Training exits 0 on success. A mistake the learner can fix raises :class:`UserError`: its
message goes to ``output/failure`` as ``ClientError: <message>`` and the process exits 1. Anything
unexpected is written as ``AlgorithmError: ...`` and exits 2.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.local.images.toolkit.errors import UserError

ML_ROOT_ENV = "SAGEMAKER_OPT_ML"
DEFAULT_ML_ROOT = "/opt/ml"
CLIENT_ERROR_EXIT_CODE = 1  # a UserError; FailureReason "ClientError: ..." as SageMaker shows it
ALGORITHM_ERROR_EXIT_CODE = 2


@dataclass(frozen=True)
class TrainingEnvironment:
    """What a training container is given: its folder, hyperparameters and channels."""

    root: Path
    hyperparameters: dict[str, str]
    input_data_config: dict[str, dict[str, Any]]
    resource_config: dict[str, Any] = field(default_factory=dict)

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def current_host(self) -> str:
        return self.resource_config.get("current_host", "algo-1")

    def channel_dir(self, channel: str) -> Path:
        return self.root / "input" / "data" / channel

    def content_type(self, channel: str) -> str | None:
        return self.input_data_config.get(channel, {}).get("ContentType")

    def channel_files(self, channel: str) -> list[Path]:
        """The channel's data files in a stable order, skipping hidden and ``_`` files like SageMaker."""
        base = self.channel_dir(channel)
        if not base.is_dir():
            return []
        files = []
        for path in sorted(base.rglob("*")):
            parts = path.relative_to(base).parts
            if path.is_file() and not any(p.startswith((".", "_")) for p in parts):
                files.append(path)
        return files


def ml_root() -> Path:
    return Path(os.environ.get(ML_ROOT_ENV, DEFAULT_ML_ROOT))


def load_training_environment(root: Path | None = None) -> TrainingEnvironment:
    root = root or ml_root()
    config = root / "input" / "config"
    hyperparameters = _read_json(config / "hyperparameters.json", {})
    return TrainingEnvironment(
        root=root,
        # SageMaker hands every value over as a string, whatever the client sent.
        hyperparameters={str(k): str(v) for k, v in hyperparameters.items()},
        input_data_config=_read_json(config / "inputdataconfig.json", {}),
        resource_config=_read_json(config / "resourceconfig.json", {}),
    )


def _read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text() or "null") or default
    except json.JSONDecodeError as exc:
        raise UserError(f"{path.name} is not valid JSON: {exc}") from exc


def write_failure(root: Path, reason: str) -> None:
    output = root / "output"
    output.mkdir(parents=True, exist_ok=True)
    (output / "failure").write_text(reason)


def run_training(image_package: str, root: Path | None = None) -> int:
    """Run the image's ``train(env)``; returns the process exit code."""
    root = root or ml_root()
    try:
        environment = load_training_environment(root)
        train = importlib.import_module(f"{image_package}.train").train
        train(environment)
    except UserError as exc:
        print(f"ERROR: {exc}", flush=True)
        write_failure(root, f"ClientError: {exc}")
        return CLIENT_ERROR_EXIT_CODE
    except Exception as exc:
        traceback.print_exc(file=sys.stdout)
        write_failure(root, f"AlgorithmError: {type(exc).__name__}: {exc}")
        return ALGORITHM_ERROR_EXIT_CODE
    return 0


def run_serving(image_package: str, root: Path | None = None) -> int:
    """Load the model with the image's ``load_handler(model_dir)`` and serve it until stopped."""
    from helpers.local.images.toolkit import serving

    model_dir = (root or ml_root()) / "model"
    try:
        load_handler = importlib.import_module(f"{image_package}.serve").load_handler
        handler = load_handler(model_dir)
    except UserError as exc:
        print(f"ERROR: could not load the model from {model_dir}: {exc}", flush=True)
        return CLIENT_ERROR_EXIT_CODE
    serving.serve(handler)
    return 0


def main(image_package: str, argv: list[str] | None = None) -> None:
    """Entry point of ``python -m <image_package> train|serve|process``."""
    argv = sys.argv[1:] if argv is None else argv
    # Line-buffered output so every log line reaches CloudWatch as it is printed.
    sys.stdout.reconfigure(line_buffering=True)
    command = argv[0] if argv else ""
    if command == "train":
        sys.exit(run_training(image_package))
    if command == "serve":
        sys.exit(run_serving(image_package))
    if command == "process":  # a processing job: the job's own command, whatever the image
        # Loaded by name like an image's train module: it is built on this module.
        processing = importlib.import_module("helpers.local.images.toolkit.processing")
        sys.exit(processing.run_processing(ml_root()))
    print(f"usage: python -m {image_package} train|serve|process", file=sys.stderr)
    sys.exit(64)


def exit_code_of(exc: SystemExit) -> int:
    """The code the interpreter exits with for ``sys.exit(code)`` (a message goes to stderr, code 1)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1
