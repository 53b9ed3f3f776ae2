"""Inference like the built-in Linear Learner, from ``model/model_algo-1``.

Requests: ``text/csv`` (rows of features, no label), ``application/json``
(``{"instances": [{"features": [...]}, ...]}``, or ``{"features": [...]}``) and
``application/jsonlines`` (one ``{"features": [...]}`` per line) and ``application/x-recordio-protobuf``
(what ``LinearLearnerPredictor`` sends).

Responses (``application/json`` when no Accept is sent):

* ``application/json``: ``{"predictions": [{"score": 24.1}, ...]}``; classifiers add
  ``predicted_label`` and a multiclass ``score`` is the list of class probabilities;
* ``application/jsonlines``: one such prediction object per line;
* ``text/csv``: one line per record: the score for a regressor, ``predicted_label,score`` for a
  binary classifier, ``predicted_label,p0,p1,...`` for a multiclass classifier;
* ``application/x-recordio-protobuf``: one record per prediction, its ``label`` holding ``score``
  (and ``predicted_label``) as Float32Tensors, which ``LinearLearnerPredictor`` reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from helpers.local.images.linear_learner import MODEL_FILE
from helpers.local.images.linear_learner.model import LinearModel
from helpers.local.images.toolkit.errors import UserError
from helpers.local.images.toolkit.payloads import parse_csv, parse_json_instances, parse_jsonlines
from helpers.local.images.toolkit.recordio_protobuf import CONTENT_TYPE as PROTOBUF
from helpers.local.images.toolkit.recordio_protobuf import encode_label_records, read_records
from helpers.local.images.toolkit.serving import (
    InvocationError,
    choose_accept,
    default_accept,
    is_batch,
    media_type,
)

CSV, JSON, JSONLINES = "text/csv", "application/json", "application/jsonlines"
ACCEPTS = (JSON, JSONLINES, CSV, PROTOBUF)


def parse_protobuf(body: bytes) -> np.ndarray:
    # LinearLearnerPredictor's RecordSerializer: one record per row, features only.
    try:
        return read_records(body, "the request body")[0]
    except UserError as exc:
        raise InvocationError(400, str(exc)) from None


PARSERS = {CSV: parse_csv, JSON: parse_json_instances, JSONLINES: parse_jsonlines, PROTOBUF: parse_protobuf}


class LinearLearnerHandler:
    """``(body, content_type, accept) -> (bytes, content_type)`` for one linear model."""

    def __init__(self, model: LinearModel, batch: bool = False, accept_default: str = JSON):
        self.model = model
        self.batch = batch
        self.accept_default = accept_default

    def __call__(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        request_type = media_type(content_type) or CSV
        parse = PARSERS.get(request_type)
        if parse is None:
            raise InvocationError(
                415,
                f"Content type {request_type} is not supported by Linear Learner in the local service. "
                f"Supported content types: {', '.join(PARSERS)}.",
            )
        answer_type = choose_accept(accept, ACCEPTS, self.accept_default)
        features = parse(body)
        if features.shape[1] != self.model.feature_dim:
            raise InvocationError(
                400,
                f"Each record needs {self.model.feature_dim} features (feature_dim) but the request has "
                f"{features.shape[1]}.",
            )
        finite = np.isfinite(features)
        if not finite.all():
            # Empty CSV fields and JSON nulls parse as NaN; a linear model has no use for missing
            # values and would answer NaN, which is not even valid JSON.
            row, column = np.argwhere(~finite)[0] + 1
            raise InvocationError(
                400,
                f"Record {row}, feature {column} is missing or not a finite number; Linear Learner "
                "needs a numeric value for every feature.",
            )
        scores = self.model.scores(features.astype(np.float64))
        return self._encode(scores, answer_type), answer_type

    def _encode(self, scores: np.ndarray, answer_type: str) -> bytes:
        classifier = self.model.predictor_type != "regressor"
        labels = self.model.labels(scores).tolist() if classifier else None
        values = scores.tolist()
        if answer_type == CSV:
            if not classifier:
                lines = [str(v) for v in values]
            else:
                lines = [
                    ",".join(map(str, [label] + (v if isinstance(v, list) else [v])))
                    for label, v in zip(labels, values, strict=True)
                ]
            text = "\n".join(lines)
            return (text + "\n" if self.batch else text).encode()
        if classifier:
            records = [
                {"score": v, "predicted_label": label} for v, label in zip(values, labels, strict=True)
            ]
        else:
            records = [{"score": v} for v in values]
        if answer_type == JSON:
            return json.dumps({"predictions": records}).encode()
        if answer_type == PROTOBUF:
            # Each record's label maps score (and predicted_label) to a one-value Float32Tensor.
            return encode_label_records([{k: _as_list(v) for k, v in r.items()} for r in records])
        return ("\n".join(json.dumps(r) for r in records) + "\n").encode()


def _as_list(value: float | list[float]) -> list[float]:
    return value if isinstance(value, list) else [value]


def load_handler(model_dir: Path) -> LinearLearnerHandler:
    path = model_dir / MODEL_FILE
    if not path.exists():
        raise UserError(f"no {MODEL_FILE} in {model_dir}")
    try:
        model = LinearModel.load(path)
    except (ValueError, KeyError, OSError) as exc:
        raise UserError(f"{path.name} is not a Linear Learner model from this service: {exc}") from exc
    return LinearLearnerHandler(model, batch=is_batch(), accept_default=default_accept(JSON, ACCEPTS))
