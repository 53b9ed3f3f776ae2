"""Search strategies: which hyperparameters the tuning job's next training job gets.

Training job ``index`` (0-based) is always suggested after jobs ``0 .. index - 1``, so a seeded
strategy proposes the same sequence on every run. ``Hyperband`` searches like ``Random``; what makes
it Hyperband is its stopping rule (see ``hyperband.py``).
"""

from __future__ import annotations

import itertools
import math
import random

from helpers.local.core.errors import ValidationException
from helpers.local.tuning.ranges import ContinuousRange, ParameterRange

MAX_GRID_SIZE = 10_000


class SearchStrategy:
    """Suggests hyperparameters (as strings) for training job ``index`` and learns from results."""

    def ready(self, index: int) -> bool:
        """Whether job ``index`` can be suggested now (a strategy may wait for earlier results)."""
        return True

    def suggest(self, index: int) -> dict[str, str] | None:
        """The tuned hyperparameters of job ``index``, or None when the search space is exhausted."""
        raise NotImplementedError

    def report(self, index: int, objective: float | None) -> None:
        """Job ``index`` ended with this objective value (None: it produced none)."""


class RandomSearch(SearchStrategy):
    def __init__(self, space: list[ParameterRange], seed: int):
        self.space = space
        self._rng = random.Random(seed)

    def suggest(self, index: int) -> dict[str, str]:
        return {r.name: r.sample(self._rng) for r in self.space}


class GridSearch(SearchStrategy):
    """Every combination of the categorical (and integer) values, in a fixed order."""

    def __init__(self, space: list[ParameterRange]):
        self.size = grid_size(space)
        self.names = [r.name for r in space]
        self._combinations = list(itertools.product(*(r.grid() for r in space)))

    def suggest(self, index: int) -> dict[str, str] | None:
        if index >= self.size:
            return None
        return dict(zip(self.names, self._combinations[index], strict=True))


def grid_size(space: list[ParameterRange]) -> int:
    """How many combinations a grid over ``space`` has; raises ValidationException if it cannot be run."""
    continuous = [r.name for r in space if isinstance(r, ContinuousRange)]
    if continuous:
        raise ValidationException(
            "The Grid strategy searches categorical values only (integer ranges are expanded to "
            f"every integer); these ranges are continuous: {', '.join(continuous)}. Use "
            "CategoricalParameterRanges, or the Random or Bayesian strategy."
        )
    # From the axes' lengths, so a huge integer range is refused without being expanded.
    size = math.prod(r.grid_length() for r in space)
    if size > MAX_GRID_SIZE:
        raise ValidationException(
            f"The grid has {size} combinations, more than the {MAX_GRID_SIZE} the local service "
            "runs; narrow the ranges."
        )
    return size
