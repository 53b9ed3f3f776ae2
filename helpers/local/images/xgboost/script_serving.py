"""Inference in XGBoost framework mode: the learner's script with the XGBoost container's defaults.

As aws/sagemaker-xgboost-container ``serving.py`` (``main``: a ``SAGEMAKER_PROGRAM`` means the user
module, else the built-in algorithm's scoring service) and ``encoder.py``:

* no default ``model_fn``: the script loads its own booster ("Please provide a model_fn
  implementation.");
* ``input_fn`` turns ``text/csv`` (empty cells missing), ``text/libsvm`` and ``text/x-libsvm`` into an
  ``xgboost.DMatrix``; any other type is the toolkit's UnsupportedFormatError (415). RecordIO-protobuf
  is not decoded locally;
* ``predict_fn`` is ``model.predict(data, validate_features=False)``;
* ``output_fn`` encodes JSON, CSV or NPY by Accept (the containers' ``encoders.encode``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xgboost as xgb

from helpers.local.images.toolkit import inference_codecs
from helpers.local.images.toolkit.framework_version import log_framework_version
from helpers.local.images.toolkit.payloads import parse_csv, parse_libsvm
from helpers.local.images.toolkit.serving import media_type
from helpers.local.images.toolkit.user_module import InferenceDefaults, ScriptHandler, import_user_module

CSV = "text/csv"
LIBSVM_TYPES = ("text/libsvm", "text/x-libsvm")


def default_input_fn(input_data: str | bytes, content_type: str) -> xgb.DMatrix:
    body = input_data.encode("utf-8") if isinstance(input_data, str) else input_data
    request_type = media_type(content_type)
    if request_type == CSV:
        return xgb.DMatrix(parse_csv(body))
    if request_type in LIBSVM_TYPES:
        return xgb.DMatrix(parse_libsvm(body))
    raise inference_codecs.unsupported_format(request_type)


def default_predict_fn(input_data: Any, model: Any) -> Any:
    return model.predict(input_data, validate_features=False)


XGBOOST_DEFAULTS = InferenceDefaults(
    model_fn=inference_codecs.model_fn_required,
    input_fn=default_input_fn,
    predict_fn=default_predict_fn,
    output_fn=inference_codecs.encode_by_accept,
)


def load_script_handler(model_dir: Path) -> ScriptHandler:
    log_framework_version("xgboost", xgb.__version__)
    return ScriptHandler(import_user_module(model_dir), XGBOOST_DEFAULTS, model_dir)
