"""Declarative hyperparameter validation, as the built-in algorithms do it.

SageMaker hands hyperparameters to the container as strings. An image declares each one (type,
valid range, required or default) in a :class:`HyperparameterSpec`; ``validate`` parses the strings
and raises :class:`UserError` with the algorithm's own wording, so a learner sees the same
failure reason locally as on AWS.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from helpers.local.images.toolkit.errors import UserError

INTEGER, CONTINUOUS, CATEGORICAL, LIST, TEXT = "integer", "continuous", "categorical", "list", "text"


@dataclass(frozen=True)
class Interval:
    """A numeric range; prints like the algorithms print it, e.g. ``[0, +inf)`` or ``(0, 1]``."""

    min_open: float | None = None
    min_closed: float | None = None
    max_open: float | None = None
    max_closed: float | None = None

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int | float) or (isinstance(value, float) and math.isnan(value)):
            return False
        return not (
            (self.min_open is not None and value <= self.min_open)
            or (self.min_closed is not None and value < self.min_closed)
            or (self.max_open is not None and value >= self.max_open)
            or (self.max_closed is not None and value > self.max_closed)
        )

    def __str__(self) -> str:
        if self.min_open is not None:
            low = f"({self.min_open}, "
        elif self.min_closed is not None:
            low = f"[{self.min_closed}, "
        else:
            low = "(-inf, "
        if self.max_open is not None:
            return f"{low}{self.max_open})"
        if self.max_closed is not None:
            return f"{low}{self.max_closed}]"
        return f"{low}+inf)"


Range = Interval | Sequence[str] | Callable[[Any], bool] | None


@dataclass(frozen=True)
class Hyperparameter:
    name: str
    kind: str
    range: Range = None
    required: bool = False
    default: str | None = None
    # Numbers that also accept the word "auto" (Linear Learner's learning_rate, wd, ...).
    allow_auto: bool = False

    def parse(self, raw: str) -> Any:
        text = raw.strip()
        if self.allow_auto and text.lower() == "auto":
            return "auto"
        if self.kind == INTEGER:
            return int(text)
        if self.kind == CONTINUOUS:
            return float(text)
        if self.kind == LIST:
            return [item.strip() for item in text.split(",") if item.strip()]
        return text

    def in_range(self, value: Any) -> bool:
        if self.range is None or value == "auto":
            return True
        values = value if self.kind == LIST else [value]
        if callable(self.range) and not isinstance(self.range, Interval):
            return all(self.range(v) for v in values)
        return all(v in self.range for v in values)

    def describe_range(self) -> str:
        if isinstance(self.range, Interval):
            return str(self.range)
        if isinstance(self.range, Sequence) and not isinstance(self.range, str):
            return str(list(self.range))
        return getattr(self.range, "description", "the supported values")


@dataclass(frozen=True)
class Messages:
    """How an algorithm words its hyperparameter failures.

    Fields: ``name``; ``value`` (parsed, or as given when unparsable); ``raw`` (as given);
    ``kind`` (what was expected); ``range``.
    """

    missing: str = "Missing required hyperparameter: {name}"
    extraneous: str = "Extraneous hyperparameter found: {name}"
    unparsable: str = "Hyperparameter {name}: could not parse value {value!r} as {kind}"
    out_of_range: str = "Hyperparameter {name}: {value} is not in {range}"


_KIND_WORDS = {INTEGER: "an integer", CONTINUOUS: "a number"}


@dataclass
class HyperparameterSpec:
    hyperparameters: Sequence[Hyperparameter]
    aliases: Mapping[str, str] = field(default_factory=dict)
    messages: Messages = field(default_factory=Messages)

    def __post_init__(self) -> None:
        self.by_name = {hp.name: hp for hp in self.hyperparameters}

    def __contains__(self, name: str) -> bool:
        return name in self.by_name or name in self.aliases

    def validate(self, user: Mapping[str, str]) -> dict[str, Any]:
        """Typed values for the user's hyperparameters plus the defaults of the ones not given."""
        given = {self.aliases.get(name, name): raw for name, raw in user.items()}
        for hp in self.hyperparameters:
            if hp.required and hp.name not in given:
                raise UserError(self.messages.missing.format(name=hp.name))
        for name in user:
            if name not in self:
                raise UserError(self.messages.extraneous.format(name=name))
        values: dict[str, Any] = {}
        for name, raw in given.items():
            hp = self.by_name[name]
            try:
                values[name] = hp.parse(str(raw))
            except ValueError:
                raise UserError(
                    self.messages.unparsable.format(
                        name=name, value=raw, kind=_KIND_WORDS.get(hp.kind, hp.kind)
                    )
                ) from None
        for name, value in values.items():
            hp = self.by_name[name]
            if not hp.in_range(value):
                shown = ",".join(value) if hp.kind == LIST else value
                raise UserError(
                    self.messages.out_of_range.format(
                        name=name, value=shown, raw=str(given[name]), range=hp.describe_range()
                    )
                )
        for hp in self.hyperparameters:
            if hp.name not in values and hp.default is not None:
                values[hp.name] = hp.parse(hp.default)
        return values


def described(description: str) -> Callable[[Callable[[Any], bool]], Callable[[Any], bool]]:
    """Give a range-check function the text failure messages show for its range."""

    def decorate(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
        check.description = description  # type: ignore[attr-defined]
        return check

    return decorate
