"""The default request decoders and response encoders of the SageMaker inference toolkit.

As ``sagemaker_inference/decoder.py`` and ``encoder.py`` (aws/sagemaker-inference-toolkit):
``application/json`` <-> ``np.array(json.loads(...))`` / ``json.dumps`` with ``tolist()``,
``text/csv`` <-> ``np.genfromtxt(delimiter=",")`` / ``np.savetxt(delimiter=",", fmt="%s")`` and
``application/x-npy`` <-> ``np.load`` / ``np.save``. Any other type is the toolkit's
``UnsupportedFormatError``: 415 with its message.
"""

from __future__ import annotations

import io
import json
import textwrap
from typing import Any

import numpy as np

from helpers.local.images.toolkit.serving import InvocationError, media_type

JSON, CSV, NPY = "application/json", "text/csv", "application/x-npy"
# Bodies of these types reach input_fn as str, the others as bytes (content_types.UTF8_TYPES).
UTF8_TYPES = (JSON, CSV)


def unsupported_format(content_type: str | None) -> InvocationError:
    message = textwrap.dedent(
        f"""\
        Content type {content_type} is not supported by this framework.

        Please implement input_fn to to deserialize the request data or an output_fn to
        serialize the response. For more information, see the SageMaker Python SDK README."""
    )
    return InvocationError(415, message)


def decode(data: str | bytes, content_type: str) -> np.ndarray:
    if content_type == JSON:
        return np.array(json.loads(data))
    if content_type == CSV:
        text = data if isinstance(data, str) else data.decode("utf-8")
        return np.genfromtxt(io.StringIO(text), delimiter=",")
    if content_type == NPY:
        raw = data.encode() if isinstance(data, str) else data
        # No pickled objects: loading one would run code sent by whoever can invoke the endpoint.
        return np.load(io.BytesIO(raw), allow_pickle=False)
    raise unsupported_format(content_type)


def encode(array_like: Any, content_type: str) -> bytes:
    if content_type == JSON:
        return json.dumps(array_like, default=_to_list).encode()
    if content_type == CSV:
        stream = io.StringIO()
        np.savetxt(stream, array_like, delimiter=",", fmt="%s")
        return stream.getvalue().encode()
    if content_type == NPY:
        buffer = io.BytesIO()
        np.save(buffer, array_like)
        return buffer.getvalue()
    raise unsupported_format(content_type)


def _to_list(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def encode_by_accept(prediction: Any, accept: str) -> tuple[bytes, str]:
    """The frameworks' default ``output_fn``: the first type of an Accept list (``text/csv, */*``),
    without parameters, encoded as ``encoder.encode`` does."""
    answer_type = media_type(accept.split(",", 1)[0])
    return encode(prediction, answer_type), answer_type


def model_fn_required(model_dir: str) -> Any:
    """The scikit-learn and XGBoost containers' default ``model_fn``: the script must load its model."""
    raise NotImplementedError(
        "Please provide a model_fn implementation. "
        "See documentation for model_fn at https://github.com/aws/sagemaker-python-sdk"
    )
