"""A trained linear model as plain arrays: saved by training, scored by the server with numpy only.

Scoring standardises the features with the training data's mean and scale, applies the weights,
then maps the result to the predictor type's score: the label's own scale for a regressor, a
probability for a binary classifier, one probability per class for a multiclass classifier.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class LinearModel:
    predictor_type: str
    coef: np.ndarray  # (outputs, features) on standardised features
    intercept: np.ndarray  # (outputs,)
    feature_mean: np.ndarray
    feature_scale: np.ndarray
    label_mean: float = 0.0
    label_scale: float = 1.0
    # "identity" (regression), "sigmoid" (binary), "ovr_sigmoid" (multiclass), "margin" (hinge loss)
    link: str = "identity"
    threshold: float = 0.5
    metadata: dict = field(default_factory=dict)

    @property
    def feature_dim(self) -> int:
        return int(self.feature_mean.shape[0])

    def decision(self, features: np.ndarray) -> np.ndarray:
        standardised = (features - self.feature_mean) / self.feature_scale
        return standardised @ self.coef.T + self.intercept

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Regression values, P(label 1), or an (n, classes) probability matrix."""
        z = self.decision(features)
        if self.link == "identity":
            return z[:, 0] * self.label_scale + self.label_mean
        if self.link == "margin":
            return z[:, 0]
        probabilities = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        if self.link == "sigmoid":
            return probabilities[:, 0]
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def labels(self, scores: np.ndarray) -> np.ndarray:
        if scores.ndim == 2:
            return scores.argmax(axis=1)
        return (scores >= self.threshold).astype(int)

    def save(self, path: Path) -> None:
        meta = {
            "predictor_type": self.predictor_type,
            "link": self.link,
            "threshold": self.threshold,
            "label_mean": self.label_mean,
            "label_scale": self.label_scale,
            **self.metadata,
        }
        buffer = io.BytesIO()
        np.savez(
            buffer,
            coef=self.coef,
            intercept=self.intercept,
            feature_mean=self.feature_mean,
            feature_scale=self.feature_scale,
            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        with np.load(path, allow_pickle=False) as arrays:
            meta = json.loads(arrays["meta"].tobytes())
            return cls(
                predictor_type=meta.pop("predictor_type"),
                coef=arrays["coef"].astype(np.float64),
                intercept=arrays["intercept"].astype(np.float64),
                feature_mean=arrays["feature_mean"].astype(np.float64),
                feature_scale=arrays["feature_scale"].astype(np.float64),
                label_mean=float(meta.pop("label_mean")),
                label_scale=float(meta.pop("label_scale")),
                link=meta.pop("link"),
                threshold=float(meta.pop("threshold")),
                metadata=meta,
            )
