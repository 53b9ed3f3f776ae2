"""Fetch and unpack a model's ``model.tar.gz`` into a container's ``model/`` folder."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

from helpers.local.aws import backends as moto_backends
from helpers.local.core.errors import JobFailure
from helpers.local.core.s3_uri import parse_s3_uri


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
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            tar.extractall(target, filter="data")
    except tarfile.TarError as exc:
        raise JobFailure(f"ClientError: {model_data_url} is not a valid model.tar.gz: {exc}") from exc
