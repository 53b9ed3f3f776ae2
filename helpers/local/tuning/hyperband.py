"""The Hyperband strategy: many configurations, and rounds given to the ones that look promising.

Every training job is started with the full budget (``MaxResource`` rounds or epochs). At rungs of
``MinResource``, 3x, 9x... rounds, a job whose objective is not in the best third of the values
other jobs had at that rung is stopped (asynchronous successive halving), so only promising
configurations use the whole budget.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from helpers.local.core.errors import ValidationException
from helpers.local.tuning.early_stopping import StoppingRule

# SageMaker infers MaxResource from these static hyperparameters (API reference,
# HyperbandStrategyConfig.MaxResource); ``num_round`` is XGBoost's round count, which the service
# also raises to MaxResource in every job (it is never used to infer MaxResource).
INFERRED_FROM = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")
RESOURCE_HYPERPARAMETERS = (*INFERRED_FROM, "num_round")
MAX_RESOURCE_LIMIT = 20_000
REDUCTION_FACTOR = 3


@dataclass(frozen=True)
class HyperbandResource:
    hyperparameter: str | None  # set to max_resource in every training job, when the job has one
    min_resource: int
    max_resource: int


def hyperband_resource(
    strategy_config: dict[str, Any] | None, static_hyperparameters: dict[str, str], tuned: list[str]
) -> HyperbandResource:
    """Read ``HyperbandStrategyConfig``, inferring ``MaxResource`` as SageMaker does.

    A tuned resource hyperparameter (``num_round`` in a range, as the public Hyperband examples
    tune it) keeps each job's own value; Hyperband still stops jobs at its rungs and at MaxResource.
    """
    config = (strategy_config or {}).get("HyperbandStrategyConfig", {})
    max_resource = config.get("MaxResource")
    if max_resource is None:
        inferred = next((n for n in INFERRED_FROM if n in static_hyperparameters), None)
        if inferred is None:
            raise ValidationException(
                "The Hyperband strategy needs HyperbandStrategyConfig.MaxResource, or one of these "
                f"static hyperparameters to infer it from: {', '.join(INFERRED_FROM)}."
            )
        try:
            max_resource = int(static_hyperparameters[inferred])
        except ValueError:
            raise ValidationException(
                f"Hyperband cannot infer MaxResource from {inferred}='{static_hyperparameters[inferred]}': "
                "it is not an integer. Set HyperbandStrategyConfig.MaxResource."
            ) from None
    min_resource = config.get("MinResource", 1)
    if not 1 <= min_resource <= max_resource <= MAX_RESOURCE_LIMIT:
        raise ValidationException(
            f"HyperbandStrategyConfig needs 1 <= MinResource <= MaxResource <= {MAX_RESOURCE_LIMIT}; "
            f"got MinResource {min_resource}, MaxResource {max_resource}."
        )
    static_resource = next(
        (n for n in RESOURCE_HYPERPARAMETERS if n in static_hyperparameters and n not in tuned), None
    )
    return HyperbandResource(static_resource, min_resource, max_resource)


class HyperbandRule(StoppingRule):
    def __init__(self, minimize: bool, resource: HyperbandResource):
        self.minimize = minimize
        self.rungs: list[int] = []
        rung = resource.min_resource
        while rung < resource.max_resource:
            self.rungs.append(rung)
            rung *= REDUCTION_FACTOR
        self._recorded: dict[int, list[float]] = defaultdict(list)  # rung -> objective values seen
        self._passed: dict[int, set[int]] = defaultdict(set)  # job -> rungs it has been judged at

    def should_stop(self, index: int, history: list[float]) -> str | None:
        for rung in self.rungs:
            if len(history) < rung or rung in self._passed[index]:
                continue
            self._passed[index].add(rung)
            value = history[rung - 1]
            recorded = self._recorded[rung]
            stop = bool(recorded) and self._below_cutoff(value, recorded)
            recorded.append(value)
            if stop:
                return (
                    f"Training job stopped early by Hyperband: its objective {value:.6g} after {rung} "
                    f"rounds is not in the best 1/{REDUCTION_FACTOR} of the training jobs at that point."
                )
        return None

    def job_finished(self, index: int, history: list[float]) -> None:
        # Record the rungs a job passed between two checks, so later jobs are compared with it too.
        for rung in self.rungs:
            if len(history) >= rung and rung not in self._passed[index]:
                self._passed[index].add(rung)
                self._recorded[rung].append(history[rung - 1])

    def _below_cutoff(self, value: float, recorded: list[float]) -> bool:
        if self.minimize:
            return value > float(np.percentile(recorded, 100 / REDUCTION_FACTOR))
        return value < float(np.percentile(recorded, 100 - 100 / REDUCTION_FACTOR))
