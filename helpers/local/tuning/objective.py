"""The tuning objective: which metric, which way is better, and how to read it from a job's log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from helpers.local.core.errors import ValidationException
from helpers.local.images import UnknownImageError, algorithm_metrics


@dataclass(frozen=True)
class Objective:
    metric_name: str
    type: str  # "Minimize" | "Maximize"
    regex: str

    @property
    def minimize(self) -> bool:
        return self.type == "Minimize"

    def better(self, value: float, than: float) -> bool:
        return value < than if self.minimize else value > than


def jobs_not_improving(completed: Iterable[tuple[float, float]], minimize: bool) -> int:
    """``NumberOfTrainingJobsObjectiveNotImproving``: of the completed training jobs, taken in the
    order they ended, how many came after the last one that beat every job before it.

    ``completed`` holds each job's (end time, objective value). Ordering by end time here, rather
    than by launch or by when the caller noticed, gives the tuning job's run and Describe one answer.
    """
    best: float | None = None
    count = 0
    for _, value in sorted(completed, key=lambda job: job[0]):
        if best is None or (value < best if minimize else value > best):
            best, count = value, 0
        else:
            count += 1
    return count


def builtin_metric_definitions(
    image_uri: str | None, hyperparameters: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """The algorithm's own metric definitions; none for an image the service does not know, nor for
    a job that runs the learner's script (framework mode: only its MetricDefinitions count)."""
    if not image_uri:
        return []
    try:
        return algorithm_metrics(image_uri, hyperparameters)
    except UnknownImageError:
        return []


def resolve_objective(
    objective: dict[str, Any],
    algorithm: dict[str, Any],
    where: str,
    hyperparameters: dict[str, str] | None = None,
) -> Objective:
    """Match ``HyperParameterTuningJobObjective`` to a metric the training jobs will report."""
    name = objective["MetricName"]
    own = algorithm.get("MetricDefinitions") or []
    builtin = builtin_metric_definitions(algorithm.get("TrainingImage"), hyperparameters)
    for definition in own + builtin:
        if definition["Name"] == name:
            return Objective(name, objective["Type"], definition["Regex"])
    known = [d["Name"] for d in builtin] + [d["Name"] for d in own]
    emitted = f" It reports: {', '.join(known)}." if known else ""
    raise ValidationException(
        f"{where}: the objective metric '{name}' is not a metric of this algorithm.{emitted} Choose one "
        "of those, or define it in AlgorithmSpecification.MetricDefinitions with a Regex that finds it "
        "in the training log."
    )
