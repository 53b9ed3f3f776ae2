"""The learner's inference script (script mode) turned into a model server's invocation handler.

Follows the inference toolkits (aws/sagemaker-inference-toolkit ``transformer.py`` and
``environment.py``, aws/sagemaker-scikit-learn-container ``serving.py``):

* the script is ``SAGEMAKER_PROGRAM`` (``inference.py`` when unset) in ``model/code/`` (where the
  SDK's ``repack_model`` puts ``source_dir``), else in the folder ``SAGEMAKER_SUBMIT_DIRECTORY``
  names (the service unpacks an S3 ``sourcedir.tar.gz`` there);
* ``model_fn(model_dir)`` runs once before ``/ping`` answers; ``input_fn(input_data, content_type)``,
  ``predict_fn(data, model)`` and ``output_fn(prediction, accept)`` run per request, each replaced
  by the framework's default when the script has none, or ``transform_fn(model, data,
  content_type, accept)`` replaces all three;
* a ``text/csv`` or ``application/json`` body reaches ``input_fn`` as ``str``, others as ``bytes``;
  no Accept (or ``*/*``) means ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``, else ``application/json``;
* a ``requirements.txt`` beside the script is installed before it is imported, as
  ``model_server._install_requirements`` does (only what is missing, into the container's folder);
* a handler may take one more argument, the request context; it is given ``None`` here.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from helpers.local.images.toolkit.errors import UserError
from helpers.local.images.toolkit.inference_codecs import JSON, UTF8_TYPES
from helpers.local.images.toolkit.requirements import PACKAGES_DIR, install_requirements, use_packages
from helpers.local.images.toolkit.serving import DEFAULT_ACCEPT_ENV, InvocationError, media_type

PROGRAM_ENV = "SAGEMAKER_PROGRAM"
SUBMIT_DIRECTORY_ENV = "SAGEMAKER_SUBMIT_DIRECTORY"
DEFAULT_PROGRAM = "inference.py"
ANY = "*/*"


@dataclass(frozen=True)
class InferenceDefaults:
    """A framework's handlers for the functions a script leaves out."""

    model_fn: Callable[[str], Any]
    input_fn: Callable[[Any, str], Any]
    predict_fn: Callable[[Any, Any], Any]
    output_fn: Callable[[Any, str], Any]


def find_user_program(model_dir: Path) -> tuple[Path, str] | None:
    """``(code folder, module name)`` of the inference script, or None when there is none."""
    configured = os.environ.get(PROGRAM_ENV, "").strip()
    program = configured or DEFAULT_PROGRAM
    folders = [model_dir / "code"]
    submitted = os.environ.get(SUBMIT_DIRECTORY_ENV, "")
    if submitted and "://" not in submitted:
        folders.append(Path(submitted))
    for folder in folders:
        if (folder / program).is_file():
            return folder, program.removesuffix(".py")
    if configured:
        raise UserError(
            f"{PROGRAM_ENV}={configured} was not found in the model's code/ folder or in "
            f"{SUBMIT_DIRECTORY_ENV}: package the script in model.tar.gz under code/ or upload the "
            "source directory and set SAGEMAKER_SUBMIT_DIRECTORY to its sourcedir.tar.gz."
        )
    return None


def import_user_module(model_dir: Path) -> ModuleType | None:
    found = find_user_program(model_dir)
    if found is None:
        return None
    folder, name = found
    # The script imports its neighbours as top-level modules, as in the real containers.
    sys.path.insert(0, str(folder))
    # The inference toolkit installs code/requirements.txt when the model server starts.
    use_packages(install_requirements(folder, model_dir.parent / PACKAGES_DIR), after=str(folder))
    try:
        return importlib.import_module(name)
    except Exception as exc:
        traceback.print_exc(file=sys.stdout)
        reason = f"{type(exc).__name__}: {exc}"
        raise UserError(f"the inference script {name}.py could not be imported: {reason}") from exc


class ScriptHandler:
    """``(body, content_type, accept) -> (bytes, content_type)`` around a script's functions."""

    def __init__(self, module: ModuleType | None, defaults: InferenceDefaults, model_dir: Path):
        def pick(name: str, default: Callable | None) -> Callable | None:
            return getattr(module, name, None) or default

        transform_fn = pick("transform_fn", None)
        if transform_fn and any(pick(n, None) for n in ("input_fn", "predict_fn", "output_fn")):
            raise UserError(
                "Cannot use transform_fn implementation in conjunction with input_fn, predict_fn, "
                "and/or output_fn implementation"
            )
        self.transform_fn = _with_context(transform_fn, 4) if transform_fn else self._default_transform
        self.input_fn = _with_context(pick("input_fn", defaults.input_fn), 2)
        self.predict_fn = _with_context(pick("predict_fn", defaults.predict_fn), 2)
        self.output_fn = _with_context(pick("output_fn", defaults.output_fn), 2)
        self.default_accept = os.environ.get(DEFAULT_ACCEPT_ENV, "").strip() or JSON
        model_fn = _with_context(pick("model_fn", defaults.model_fn), 1)
        try:
            self.model = model_fn(str(model_dir))
        except Exception as exc:
            traceback.print_exc(file=sys.stdout)
            raise UserError(f"model_fn failed: {type(exc).__name__}: {str(exc).strip()}") from exc

    def _default_transform(self, model: Any, data: Any, content_type: str, accept: str) -> Any:
        return self.output_fn(self.predict_fn(self.input_fn(data, content_type), model), accept)

    def __call__(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        request_type = media_type(content_type) or None
        data: str | bytes = body
        if request_type in UTF8_TYPES:
            try:
                data = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvocationError(400, f"The {request_type} payload is not UTF-8 text: {exc}") from exc
        accept = accept.strip()
        if not accept or accept == ANY:
            accept = self.default_accept
        result = self.transform_fn(self.model, data, request_type, accept)
        answer, answer_type = result if isinstance(result, tuple) else (result, accept)
        return _as_bytes(answer), str(answer_type)


def _with_context(function: Callable, arguments: int) -> Callable:
    """``function`` called with its ``arguments``, plus the context if it takes one more."""
    try:
        takes = len(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return function
    return (lambda *args: function(*args, None)) if takes == arguments + 1 else function


def _as_bytes(answer: Any) -> bytes:
    if isinstance(answer, str):
        return answer.encode("utf-8")
    if isinstance(answer, bytes | bytearray | memoryview):
        return bytes(answer)
    raise TypeError(
        f"output_fn (or transform_fn) returned {type(answer).__name__}; return the serialized "
        "response as bytes or str, or a (response, content_type) tuple"
    )
