"""Boston Housing: 506 suburbs of Boston, 13 features, median house value as the target.

The CSV ships with the course (it came out of scikit-learn 1.1.3's wheel, the last release that
carried it), so the lessons need no download. Provenance and caveats are in ``README.md`` here.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import pandas as pd

FEATURES = [
    "CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE",
    "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT",
]  # fmt: skip
TARGET = "MEDV"


@dataclass(frozen=True)
class Boston:
    """Features (``data``, a DataFrame) and target (``target``, a Series of $1000s)."""

    data: pd.DataFrame
    target: pd.Series
    feature_names: list[str]


def load_boston() -> Boston:
    """Load the bundled Boston Housing table (no network needed)."""
    csv = resources.files(__package__) / "boston_house_prices.csv"
    with csv.open("r") as f:
        # The first line is a count header ("506,13,...") left over from scikit-learn's format.
        frame = pd.read_csv(f, skiprows=1)
    return Boston(
        data=frame[FEATURES].astype(float),
        target=frame[TARGET].astype(float).rename(TARGET),
        feature_names=list(FEATURES),
    )
