"""Inference like the SageMaker scikit-learn container: the learner's script, with its defaults.

As aws/sagemaker-scikit-learn-container ``serving.py``: there is no default ``model_fn`` (the
script must load its own model, typically with ``joblib.load``), ``input_fn`` decodes JSON, CSV
and NPY with the inference toolkit's decoders (text types as float32), ``predict_fn`` is
``model.predict(data)`` and ``output_fn`` encodes JSON, CSV or NPY by Accept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from helpers.local.images.toolkit import inference_codecs
from helpers.local.images.toolkit.framework_version import log_framework_version
from helpers.local.images.toolkit.user_module import InferenceDefaults, ScriptHandler, import_user_module


def default_input_fn(input_data: str | bytes, content_type: str) -> np.ndarray:
    array = inference_codecs.decode(input_data, content_type)
    return array.astype(np.float32) if content_type in inference_codecs.UTF8_TYPES else array


def default_predict_fn(input_data: Any, model: Any) -> Any:
    return model.predict(input_data)


SKLEARN_DEFAULTS = InferenceDefaults(
    model_fn=inference_codecs.model_fn_required,
    input_fn=default_input_fn,
    predict_fn=default_predict_fn,
    output_fn=inference_codecs.encode_by_accept,
)


def load_handler(model_dir: Path) -> ScriptHandler:
    import sklearn

    log_framework_version("scikit-learn", sklearn.__version__)
    return ScriptHandler(import_user_module(model_dir), SKLEARN_DEFAULTS, model_dir)
