"""``TrainingJobEarlyStoppingType: Auto``: the median stopping rule SageMaker applies.

After each round a job reports, its objective is compared with the running averages that the
earlier training jobs had at the same round. If it is worse than their median, the job is unlikely
to end up among the best, and it is stopped to save its remaining rounds.
"""

from __future__ import annotations

import statistics
from itertools import accumulate

# Fewer reference jobs make the median too noisy to stop anything on.
MIN_REFERENCE_JOBS = 3


class StoppingRule:
    """Decides, from a running job's objective history, whether to stop it early."""

    def should_stop(self, index: int, history: list[float]) -> str | None:
        """Why job ``index`` should stop now, or None to let it run."""
        return None

    def job_finished(self, index: int, history: list[float]) -> None:
        """Job ``index`` ended with this objective history."""


class MedianStoppingRule(StoppingRule):
    def __init__(self, minimize: bool):
        self.minimize = minimize
        self._running_averages: dict[int, list[float]] = {}
        self._judged: dict[int, int] = {}  # job -> rounds already judged

    def job_finished(self, index: int, history: list[float]) -> None:
        if history:
            self._running_averages[index] = [total / (n + 1) for n, total in enumerate(accumulate(history))]

    def should_stop(self, index: int, history: list[float]) -> str | None:
        # Judge every round reported since the last look: a fast job can log many rounds between
        # two looks, and only its early rounds may have earlier jobs to compare with.
        first = self._judged.get(index, 0)
        self._judged[index] = len(history)
        for round_index in range(first, len(history)):
            reason = self._judge(index, round_index, history[round_index])
            if reason:
                return reason
        return None

    def _judge(self, index: int, round_index: int, value: float) -> str | None:
        references = [
            averages[round_index]
            for job, averages in self._running_averages.items()
            if job < index and len(averages) > round_index
        ]
        if len(references) < MIN_REFERENCE_JOBS:
            return None
        median = statistics.median(references)
        if (value > median) if self.minimize else (value < median):
            return (
                f"Training job stopped early by the tuning job: its objective {value:.6g} after "
                f"{round_index + 1} rounds is worse than the median {median:.6g} of earlier training "
                "jobs at the same round."
            )
        return None
