"""The algorithm images the local service can run, chosen by the ECR repository in an image URI.

``683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1`` runs the XGBoost image
whatever the account, region or tag; each image is a package run as ``python -m <module> train|serve``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class AlgorithmImage:
    module: str
    # Light module (no ML imports) with ``metric_definitions() -> [{"Name", "Regex", "Type"}]``.
    metrics_module: str


XGBOOST = AlgorithmImage("helpers.local.images.xgboost", "helpers.local.images.xgboost.metrics")
LINEAR_LEARNER = AlgorithmImage(
    "helpers.local.images.linear_learner", "helpers.local.images.linear_learner.metrics"
)
SKLEARN = AlgorithmImage("helpers.local.images.sklearn", "helpers.local.images.sklearn.metrics")
PYTORCH = AlgorithmImage("helpers.local.images.pytorch", "helpers.local.images.pytorch.metrics")

# ECR repository name -> image. "xgboost" is the repository of the legacy 0.72 XGBoost image.
IMAGES: dict[str, AlgorithmImage] = {
    "sagemaker-xgboost": XGBOOST,
    "xgboost": XGBOOST,
    "linear-learner": LINEAR_LEARNER,
    "sagemaker-scikit-learn": SKLEARN,
    # image_uris.retrieve("pytorch", ...) names one repository for training and one for inference.
    "pytorch-training": PYTORCH,
    "pytorch-inference": PYTORCH,
}


class UnknownImageError(ValueError):
    """The image URI names a repository the local service has no algorithm for."""


def repository_name(image_uri: str) -> str:
    """``<registry>/<repository>:<tag>`` or ``...@sha256:<digest>`` -> ``<repository>``'s last part."""
    uri = image_uri.strip().split("@", 1)[0]
    last = uri.rsplit("/", 1)[-1]
    return last.split(":", 1)[0].lower()


def _image(image_uri: str) -> AlgorithmImage:
    image = IMAGES.get(repository_name(image_uri))
    if image is None:
        supported = ", ".join(sorted(IMAGES))
        raise UnknownImageError(
            f"The image {image_uri!r} is not supported by the local SageMaker service. Supported "
            f"ECR repositories: {supported} (for example the URI from "
            "sagemaker.image_uris.retrieve('xgboost', region, '1.7-1'))."
        )
    return image


def resolve_image(image_uri: str) -> str:
    """The python module that runs the image: ``python -m <module> train|serve``."""
    return _image(image_uri).module


def runs_script(hyperparameters: dict[str, str] | None) -> bool:
    """Framework (script) mode: the job names the learner's own program, so the image's built-in
    algorithm, and its metrics, are not what runs (as the XGBoost image decides it)."""
    return bool(hyperparameters) and "sagemaker_program" in hyperparameters


def algorithm_metrics(image_uri: str, hyperparameters: dict[str, str] | None = None) -> list[dict[str, str]]:
    """The metric definitions the algorithm emits: ``[{"Name", "Regex", "Type"}]``.

    ``Type`` is ``Minimize`` or ``Maximize``, the direction a tuning job should optimise the metric.
    A job that runs a script (``hyperparameters`` with ``sagemaker_program``) has only its own.
    """
    _image(image_uri)  # an unknown image is an error either way
    if runs_script(hyperparameters):
        return []
    metrics = importlib.import_module(_image(image_uri).metrics_module)
    return [dict(definition) for definition in metrics.metric_definitions()]


def metric_definitions(image_uri: str) -> list[dict[str, str]]:
    """The same metrics shaped like the API's ``MetricDefinitions``: ``[{"Name", "Regex"}]``."""
    return [{"Name": d["Name"], "Regex": d["Regex"]} for d in algorithm_metrics(image_uri)]


def objective_type(image_uri: str, metric_name: str) -> str | None:
    """``Minimize``/``Maximize`` for one of the algorithm's metrics, or None if it has no such metric."""
    for definition in algorithm_metrics(image_uri):
        if definition["Name"] == metric_name:
            return definition["Type"]
    return None
