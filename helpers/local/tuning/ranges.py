"""``ParameterRanges``: the hyperparameters a tuning job searches, checked as SageMaker checks them.

Values travel as strings, as everywhere in the SageMaker API. ``ScalingType`` ``Auto`` is searched
linearly here (SageMaker decides from the range; linear is the choice it falls back to).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from helpers.local.core.errors import ValidationException

LINEAR, LOGARITHMIC, REVERSE_LOGARITHMIC = "Linear", "Logarithmic", "ReverseLogarithmic"
MAX_CATEGORICAL_VALUES = 30


@dataclass(frozen=True)
class IntegerRange:
    name: str
    low: int
    high: int
    scaling: str = LINEAR

    def sample(self, rng: random.Random) -> str:
        if self.scaling == LOGARITHMIC:
            # Log-uniform over [low, high + 1), floored: every integer in the range can come up.
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            return str(min(self.high, int(value)))
        return str(rng.randint(self.low, self.high))

    def grid(self) -> list[str]:
        return [str(v) for v in range(self.low, self.high + 1)]

    def grid_length(self) -> int:
        return self.high - self.low + 1


@dataclass(frozen=True)
class ContinuousRange:
    name: str
    low: float
    high: float
    scaling: str = LINEAR

    def sample(self, rng: random.Random) -> str:
        if self.scaling == LOGARITHMIC:
            return self.format(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        if self.scaling == REVERSE_LOGARITHMIC:
            # Dense near 1: log-uniform on 1 - x.
            return self.format(1 - math.exp(rng.uniform(math.log(1 - self.high), math.log(1 - self.low))))
        return self.format(rng.uniform(self.low, self.high))

    def format(self, value: float) -> str:
        return repr(float(min(self.high, max(self.low, value))))


@dataclass(frozen=True)
class CategoricalRange:
    name: str
    values: tuple[str, ...]

    def sample(self, rng: random.Random) -> str:
        return rng.choice(self.values)

    def grid(self) -> list[str]:
        return list(self.values)

    def grid_length(self) -> int:
        return len(self.values)


ParameterRange = IntegerRange | ContinuousRange | CategoricalRange


def parse_parameter_ranges(ranges: dict[str, Any] | None, where: str) -> list[ParameterRange]:
    """The ranges of a ``ParameterRanges`` structure, in request order; raises ValidationException."""
    ranges = ranges or {}
    if ranges.get("AutoParameters"):
        raise ValidationException(
            f"{where}.AutoParameters needs Autotune, which the local service does not offer; give "
            "IntegerParameterRanges, ContinuousParameterRanges or CategoricalParameterRanges instead."
        )
    parsed: list[ParameterRange] = []
    for i, item in enumerate(ranges.get("IntegerParameterRanges", [])):
        parsed.append(_integer_range(item, f"{where}.IntegerParameterRanges[{i}]"))
    for i, item in enumerate(ranges.get("ContinuousParameterRanges", [])):
        parsed.append(_continuous_range(item, f"{where}.ContinuousParameterRanges[{i}]"))
    for i, item in enumerate(ranges.get("CategoricalParameterRanges", [])):
        parsed.append(_categorical_range(item, f"{where}.CategoricalParameterRanges[{i}]"))
    names = [r.name for r in parsed]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValidationException(
            f"{where}: each hyperparameter can have only one range; repeated: {', '.join(repeated)}."
        )
    if not parsed:
        raise ValidationException(f"{where} must name at least one hyperparameter to tune.")
    return parsed


def _scaling(item: dict[str, Any]) -> str:
    scaling = item.get("ScalingType", "Auto")
    return LINEAR if scaling == "Auto" else scaling


def _integer_range(item: dict[str, Any], where: str) -> IntegerRange:
    name = item["Name"]
    low, high = (
        _number(item[key], int, f"{where} ({name}) {key}", "an integer") for key in ("MinValue", "MaxValue")
    )
    scaling = _scaling(item)
    _check_order(low, high, where, name)
    if scaling == REVERSE_LOGARITHMIC:
        raise ValidationException(
            f"{where} ({name}): ReverseLogarithmic scaling is for continuous ranges only; use Linear or "
            "Logarithmic for an integer range."
        )
    if scaling == LOGARITHMIC and low <= 0:
        raise ValidationException(
            f"{where} ({name}): Logarithmic scaling needs a range of positive values, but MinValue is {low}."
        )
    return IntegerRange(name, low, high, scaling)


def _continuous_range(item: dict[str, Any], where: str) -> ContinuousRange:
    name = item["Name"]
    low, high = (
        _number(item[key], float, f"{where} ({name}) {key}", "a number") for key in ("MinValue", "MaxValue")
    )
    scaling = _scaling(item)
    _check_order(low, high, where, name)
    if scaling == LOGARITHMIC and low <= 0:
        raise ValidationException(
            f"{where} ({name}): Logarithmic scaling needs a range of positive values, but MinValue is {low}."
        )
    if scaling == REVERSE_LOGARITHMIC and not (low >= 0 and high < 1):
        raise ValidationException(
            f"{where} ({name}): ReverseLogarithmic scaling needs a range inside 0 <= x < 1, but the "
            f"range is [{low}, {high}]."
        )
    return ContinuousRange(name, low, high, scaling)


def _categorical_range(item: dict[str, Any], where: str) -> CategoricalRange:
    name, values = item["Name"], tuple(item["Values"])
    if not values:
        raise ValidationException(f"{where} ({name}): Values must list at least one value.")
    if len(values) > MAX_CATEGORICAL_VALUES:
        raise ValidationException(
            f"{where} ({name}): a categorical range can have at most {MAX_CATEGORICAL_VALUES} values, "
            f"this one has {len(values)}."
        )
    return CategoricalRange(name, values)


def _number(text: str, kind: type, where: str, article: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise ValidationException(f"{where} must be {article}, not '{text}'.") from None
    if kind is float and not math.isfinite(value):
        raise ValidationException(f"{where} must be a finite number, not '{text}'.")
    return value


def _check_order(low: float, high: float, where: str, name: str) -> None:
    if low > high:
        raise ValidationException(
            f"{where} ({name}): MinValue ({low}) is greater than MaxValue ({high}); swap them."
        )
