"""Fetch and unpack a model's ``model.tar.gz`` into a container's ``model/`` folder, and its source code.

A framework model (script mode) may name its inference code as ``SAGEMAKER_SUBMIT_DIRECTORY`` =
the S3 URI of a ``sourcedir.tar.gz``, as the SageMaker Python SDK sets it when the code is not
repacked into ``model.tar.gz``. Like the framework containers, the code is unpacked into the
container's ``code/`` folder and the variable then names that folder.
"""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

from helpers.local.aws import backends as moto_backends
from helpers.local.core.errors import JobFailure
from helpers.local.core.s3_uri import parse_s3_uri

SUBMIT_DIRECTORY_ENV = "SAGEMAKER_SUBMIT_DIRECTORY"


def unpack_model(model_data_url: str | None, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    if not model_data_url:
        return
    location = parse_s3_uri(model_data_url, "ModelDataUrl")
    data = moto_backends.get_object(location.bucket, location.key)
    if data is None:
        raise JobFailure(
            f"ClientError: the model artifact {model_data_url} does not exist: check ModelDataUrl "
            "(the training job may have failed, or the object was deleted)."
        )
    _extract(data, target, f"{model_data_url} is not a valid model.tar.gz")


def unpack_source(environment: dict[str, str], ml_root: Path) -> dict[str, str]:
    """``environment`` for the container: an S3 ``SAGEMAKER_SUBMIT_DIRECTORY`` unpacked into ``code/``."""
    uri = environment.get(SUBMIT_DIRECTORY_ENV, "")
    if not uri.startswith("s3://"):
        return environment
    target = ml_root / "code"
    if not target.is_dir():  # a restarted fleet reuses the folder it unpacked before
        location = parse_s3_uri(uri, SUBMIT_DIRECTORY_ENV)
        data = moto_backends.get_object(location.bucket, location.key)
        if data is None:
            raise JobFailure(
                f"ClientError: the source code {uri} ({SUBMIT_DIRECTORY_ENV} in the model's "
                "Environment) does not exist: upload the sourcedir.tar.gz or fix the URI."
            )
        target.mkdir(parents=True)
        _extract(data, target, f"{uri} ({SUBMIT_DIRECTORY_ENV}) is not a valid tar.gz of source code")
    return {**environment, SUBMIT_DIRECTORY_ENV: str(target)}


def _extract(data: bytes, target: Path, what_is_wrong: str) -> None:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            tar.extractall(target, filter="data")
    except tarfile.TarError as exc:
        raise JobFailure(f"ClientError: {what_is_wrong}: {exc}") from exc
