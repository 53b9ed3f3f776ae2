"""Inference like the built-in XGBoost algorithm, from ``model/xgboost-model``.

Requests: ``text/csv`` (one or more rows of features, no label; the default when no Content-Type is
sent) or ``text/libsvm`` / ``text/x-libsvm``. Like the real algorithm, XGBoost takes no JSON
requests: ``application/json`` is answered 415.

Responses, by Accept (``text/csv`` when none is sent, or ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``):

* ``text/csv``: one prediction per line, newline-joined (``12.5\\n13.1``), as newer XGBoost images
  answer; one request of one row gives a single number. In batch transform (``SAGEMAKER_BATCH``) the
  body also ends with a newline. Multi-class probabilities give one comma-separated row per record.
* ``application/json``: ``{"predictions": [{"score": 12.5}, ...]}``.
* ``application/jsonlines``: one ``{"score": 12.5}`` per line.

A model trained with early stopping predicts with the trees up to its best iteration. A model whose
environment names ``SAGEMAKER_PROGRAM`` is served by that script instead (framework mode,
:mod:`helpers.local.images.xgboost.script_serving`).
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import xgboost as xgb

from helpers.local.images.toolkit.errors import UserError
from helpers.local.images.toolkit.payloads import parse_csv, parse_libsvm
from helpers.local.images.toolkit.serving import (
    InvocationError,
    choose_accept,
    default_accept,
    is_batch,
    media_type,
)
from helpers.local.images.toolkit.user_module import PROGRAM_ENV, ScriptHandler
from helpers.local.images.xgboost import MODEL_FILE
from helpers.local.images.xgboost.predictor import Predictor
from helpers.local.images.xgboost.script_serving import load_script_handler

CSV, JSON, JSONLINES = "text/csv", "application/json", "application/jsonlines"
ACCEPTS = (CSV, JSON, JSONLINES)
LIBSVM_TYPES = ("text/libsvm", "text/x-libsvm")


def load_booster(model_dir: Path) -> xgb.Booster:
    path = model_dir / MODEL_FILE
    if not path.exists():
        candidates = [p for p in sorted(model_dir.glob("*")) if p.is_file()] if model_dir.is_dir() else []
        if not candidates:
            raise UserError(f"no model file in {model_dir} (expected {MODEL_FILE})")
        path = candidates[0]
    raw = path.read_bytes()
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(raw))
    except xgb.core.XGBoostError as native_error:
        # Models saved by older images were pickled Booster objects.
        try:
            booster = pickle.loads(raw)
        except Exception:
            raise UserError(f"{path.name} is not an XGBoost model: {native_error}") from None
    # One thread per request: on one or a few rows, thread start-up costs more than it saves.
    booster.set_param({"nthread": 1})
    return booster


class XGBoostHandler:
    """``(body, content_type, accept) -> (bytes, content_type)`` for one loaded booster."""

    def __init__(self, booster: xgb.Booster, batch: bool = False, accept_default: str = CSV):
        self.booster = booster
        self.num_features = booster.num_features()
        self.batch = batch
        self.accept_default = accept_default
        best = booster.attr("best_iteration")
        self.iteration_range = (0, int(best) + 1) if best is not None else (0, 0)
        self.predict = Predictor(booster, self.iteration_range)

    def __call__(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        request_type = media_type(content_type) or CSV
        if request_type != CSV and request_type not in LIBSVM_TYPES:
            raise InvocationError(
                415,
                f"Content type {request_type} is not supported by XGBoost. Supported content types: "
                "text/csv, text/libsvm, text/x-libsvm.",
            )
        answer_type = choose_accept(accept, ACCEPTS, self.accept_default)
        features = self._features(body, request_type)
        predictions = self.predict(features)
        return self._encode(predictions, answer_type), answer_type

    def _features(self, body: bytes, request_type: str):
        if request_type == CSV:
            features = parse_csv(body)
            if features.shape[1] != self.num_features:
                hint = (
                    " Leave the label column out of inference requests."
                    if (features.shape[1] == self.num_features + 1)
                    else ""
                )
                raise InvocationError(
                    400,
                    f"Feature size of csv inference data {features.shape[1]} is not consistent with "
                    f"feature size of trained model {self.num_features}.{hint}",
                )
            return features
        features = parse_libsvm(body)
        if features.shape[1] > self.num_features:
            raise InvocationError(
                400,
                f"Feature size of libsvm inference data {features.shape[1]} is larger than feature "
                f"size of trained model {self.num_features}.",
            )
        features.resize((features.shape[0], self.num_features))
        return features

    def _encode(self, predictions: np.ndarray, answer_type: str) -> bytes:
        rows = predictions.tolist()
        if answer_type == CSV:
            lines = [",".join(map(str, r)) if isinstance(r, list) else str(r) for r in rows]
            text = "\n".join(lines)
            return (text + "\n" if self.batch else text).encode()
        records = [{"score": r} for r in rows]
        if answer_type == JSON:
            return json.dumps({"predictions": records}).encode()
        return ("\n".join(json.dumps(r) for r in records) + "\n").encode()


def load_handler(model_dir: Path) -> XGBoostHandler | ScriptHandler:
    # The container's serving.main: a SAGEMAKER_PROGRAM is framework mode, the learner's script.
    if os.environ.get(PROGRAM_ENV, "").strip():
        return load_script_handler(model_dir)
    accept_default = default_accept(CSV, ACCEPTS)
    return XGBoostHandler(load_booster(model_dir), batch=is_batch(), accept_default=accept_default)
