"""The metrics the built-in XGBoost algorithm reports, and which way each one improves.

XGBoost prints one line per boosting round, ``[12]<TAB>train-rmse:3.1<TAB>validation-rmse:3.4``;
CloudWatch shows the tab as ``#011``, and the regexes are AWS's own (as DescribeTrainingJob returns
them for the built-in algorithm), which match that form and capture only the number.
"""

from __future__ import annotations

MAXIMIZE = (
    "accuracy",
    "auc",
    "aucpr",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "map",
    "ndcg",
    "precision",
    "precision_macro",
    "precision_micro",
    "r2",
    "recall",
    "recall_macro",
    "recall_micro",
)

MINIMIZE = (
    "aft-nloglik",
    "cox-nloglik",
    "error",
    "gamma-deviance",
    "gamma-nloglik",
    "interval-regression-accuracy",
    "logloss",
    "mae",
    "mape",
    "merror",
    "mlogloss",
    "mphe",
    "mse",
    "poisson-nloglik",
    "rmse",
    "rmsle",
    "tweedie-nloglik",
)

CHANNELS = ("train", "validation")
_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def metric_regex(channel: str, metric: str) -> str:
    return rf".*\[[0-9]+\].*#011{channel}-{metric}:{_NUMBER}.*"


def metric_definitions() -> list[dict[str, str]]:
    """``[{"Name": "validation:rmse", "Regex": ..., "Type": "Minimize"}, ...]``."""
    definitions = []
    for channel in CHANNELS:
        for names, direction in ((MINIMIZE, "Minimize"), (MAXIMIZE, "Maximize")):
            for metric in names:
                definitions.append(
                    {"Name": f"{channel}:{metric}", "Regex": metric_regex(channel, metric), "Type": direction}
                )
    return definitions
