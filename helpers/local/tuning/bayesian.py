"""The Bayesian strategy: a Tree-structured Parzen Estimator (optuna's TPE), seeded by RandomSeed.

Parallel training jobs finish in an order that changes from run to run. If every finished result
were fed to the model at once, the same seed would give different searches. So job ``i`` is
suggested from exactly the results of jobs ``0 .. i - MaxParallelTrainingJobs`` (told in job
order), with the jobs in between treated as still running. The tuning job waits for job
``i - MaxParallelTrainingJobs`` before starting job ``i``; with that many jobs in flight this
rarely idles a slot, and the same seed always yields the same sequence of hyperparameters.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from helpers.local.tuning.ranges import (
    REVERSE_LOGARITHMIC,
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    ParameterRange,
)
from helpers.local.tuning.strategies import SearchStrategy

optuna.logging.set_verbosity(optuna.logging.WARNING)


class BayesianSearch(SearchStrategy):
    def __init__(
        self, space: list[ParameterRange], seed: int, minimize: bool, max_parallel: int, max_jobs: int
    ):
        self.space = space
        self.lag = max(1, max_parallel)
        # Random suggestions first, so the model has something to learn from.
        startup = max(1, min(10, max_jobs // 4))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sampler = optuna.samplers.TPESampler(
                seed=seed, n_startup_trials=startup, multivariate=True, constant_liar=True
            )
        self.study = optuna.create_study(direction="minimize" if minimize else "maximize", sampler=sampler)
        self._distributions = {r.name: _distribution(r) for r in space}
        self._trials: dict[int, optuna.trial.Trial] = {}
        self._results: dict[int, float | None] = {}
        self._told = 0  # jobs 0 .. _told - 1 are known to the model

    def ready(self, index: int) -> bool:
        return all(j in self._results for j in range(self._told, index - self.lag + 1))

    def suggest(self, index: int) -> dict[str, str]:
        self._tell_through(index - self.lag)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial = self.study.ask(self._distributions)
        self._trials[index] = trial
        return {r.name: _format(r, trial.params[r.name]) for r in self.space}

    def report(self, index: int, objective: float | None) -> None:
        self._results[index] = objective

    def _tell_through(self, last: int) -> None:
        while self._told <= last:
            trial = self._trials.pop(self._told)
            value = self._results.pop(self._told)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if value is None or not math.isfinite(value):
                    self.study.tell(trial, state=TrialState.FAIL)
                else:
                    self.study.tell(trial, value)
            self._told += 1


def _distribution(r: ParameterRange) -> BaseDistribution:
    if isinstance(r, IntegerRange):
        return IntDistribution(r.low, r.high, log=r.scaling == "Logarithmic")
    if isinstance(r, ContinuousRange):
        if r.scaling == REVERSE_LOGARITHMIC:
            # Searched as 1 - x on a log scale, which is dense where x approaches 1.
            return FloatDistribution(1 - r.high, 1 - r.low, log=r.low != r.high)
        return FloatDistribution(r.low, r.high, log=r.scaling == "Logarithmic" and r.low != r.high)
    assert isinstance(r, CategoricalRange)
    return CategoricalDistribution(r.values)


def _format(r: ParameterRange, value: Any) -> str:
    if isinstance(r, ContinuousRange):
        return r.format(1 - value if r.scaling == REVERSE_LOGARITHMIC else value)
    return str(value)
