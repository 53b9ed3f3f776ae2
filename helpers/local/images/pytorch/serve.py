"""Inference like the SageMaker PyTorch container: the learner's script, with the toolkit's defaults.

As aws/sagemaker-pytorch-inference-toolkit ``default_pytorch_inference_handler.py`` (CPU, no
Elastic Inference):

* ``model_fn`` loads the TorchScript ``model.pt`` of the model folder, else its only ``.pt``/``.pth``
  file (``Exactly one .pth or .pt file is required ...`` otherwise), with ``torch.jit.load``; a file
  that is not TorchScript is ``Failed to load ... Please ensure model is saved using torchscript.``;
* ``input_fn`` decodes JSON, CSV and NPY with the inference toolkit's decoders into a tensor: a
  ``torch.FloatTensor`` from text types, ``torch.from_numpy`` (the array's own dtype) from NPY;
* ``predict_fn`` is ``model(data)`` after ``model.eval()``, under ``torch.no_grad()``;
* ``output_fn`` turns a tensor into a list and encodes it as the first type of Accept the toolkit
  supports (JSON, CSV, NPY); the response's content type is the Accept the request was answered for.

The user's ``inference.py`` overrides any of them (:mod:`helpers.local.images.toolkit.user_module`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from helpers.local.images.pytorch.runtime import start_container
from helpers.local.images.toolkit import inference_codecs
from helpers.local.images.toolkit.user_module import InferenceDefaults, ScriptHandler, import_user_module

DEFAULT_MODEL_FILENAME = "model.pt"
MODEL_FILE_SUFFIXES = (".pt", ".pth")
SUPPORTED_ACCEPTS = (inference_codecs.JSON, inference_codecs.CSV, inference_codecs.NPY)
# The local images have no GPU.
DEVICE = "cpu"


class ModelLoadError(Exception):
    """The toolkit's error for a model file torch.jit.load cannot read."""


def default_model_fn(model_dir: str) -> Any:
    model_path = os.path.join(model_dir, DEFAULT_MODEL_FILENAME)
    if not os.path.exists(model_path):
        model_files = sorted(
            name
            for name in os.listdir(model_dir)
            if name.endswith(MODEL_FILE_SUFFIXES) and os.path.isfile(os.path.join(model_dir, name))
        )
        if len(model_files) != 1:
            raise ValueError(f"Exactly one .pth or .pt file is required for PyTorch models: {model_files}")
        model_path = os.path.join(model_dir, model_files[0])
    try:
        model = torch.jit.load(model_path, map_location=torch.device(DEVICE))
    except RuntimeError as exc:
        raise ModelLoadError(
            f"Failed to load {model_path}. Please ensure model is saved using torchscript."
        ) from exc
    return model.to(DEVICE)


def default_input_fn(input_data: str | bytes, content_type: str) -> torch.Tensor:
    array = inference_codecs.decode(input_data, content_type)
    if content_type in inference_codecs.UTF8_TYPES:
        tensor = torch.FloatTensor(array)
    else:
        tensor = torch.from_numpy(array)
    return tensor.to(DEVICE)


def default_predict_fn(data: Any, model: Any) -> Any:
    with torch.no_grad():
        model = model.to(DEVICE)
        model.eval()
        return model(data.to(DEVICE))


def default_output_fn(prediction: Any, accept: str) -> bytes:
    if type(prediction) is torch.Tensor:
        prediction = prediction.detach().cpu().numpy().tolist()
    # utils.parse_accept: the types of the Accept list, in order; the first supported one wins.
    for content_type in accept.replace(" ", "").split(","):
        if content_type in SUPPORTED_ACCEPTS:
            return inference_codecs.encode(prediction, content_type)
    raise inference_codecs.unsupported_format(accept)


PYTORCH_DEFAULTS = InferenceDefaults(
    model_fn=default_model_fn,
    input_fn=default_input_fn,
    predict_fn=default_predict_fn,
    output_fn=default_output_fn,
)


def load_handler(model_dir: Path) -> ScriptHandler:
    start_container()
    return ScriptHandler(import_user_module(model_dir), PYTORCH_DEFAULTS, model_dir)
