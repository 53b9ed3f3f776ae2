"""The metrics the built-in Linear Learner reports, as its metric definitions name and match them.

The algorithm logs lines such as
``#quality_metric: host=algo-1, epoch=3, validation mse_objective <loss>=21.5`` during training and
``#quality_metric: host=algo-1, validation mse <loss>=21.2`` for the final model. Losses are
minimised, scores maximised.
"""

from __future__ import annotations

# (name, what the log line says after the channel, "loss" or "score")
_FINAL = (
    ("objective_loss", r"\S+_objective", "loss"),
    ("mse", "mse", "loss"),
    ("absolute_loss", "absolute_loss", "loss"),
    ("binary_classification_accuracy", "binary_classification_accuracy", "score"),
    ("binary_f_beta", r"binary_f_\S+", "score"),
    ("precision", "precision", "score"),
    ("recall", "recall", "score"),
    ("multiclass_accuracy", "multiclass_accuracy", "score"),
    ("multiclass_top_k_accuracy", r"multiclass_top_k_accuracy_\S+", "score"),
    ("dcg", "dcg", "score"),
    ("macro_precision", "macro_precision", "score"),
    ("macro_recall", "macro_recall", "score"),
    ("macro_f_beta", r"macro_f_\S+", "score"),
)
_DIRECTION = {"loss": "Minimize", "score": "Maximize"}


def metric_definitions() -> list[dict[str, str]]:
    """``[{"Name": "validation:mse", "Regex": ..., "Type": "Minimize"}, ...]``."""
    definitions = []
    for channel in ("train", "validation", "test"):
        for name, logged, kind in _FINAL:
            # The per-epoch objective keeps the plain name; the final model's is ``...:final``
            # for train and validation, and plain for test (which is only scored at the end).
            final = (
                f"{channel}:{name}:final"
                if name == "objective_loss" and channel != "test"
                else f"{channel}:{name}"
            )
            regex = rf"#quality_metric: host=\S+, {channel} {logged} <{kind}>=(\S+)"
            definitions.append({"Name": final, "Regex": regex, "Type": _DIRECTION[kind]})
        if channel != "test":
            definitions.append(
                {
                    "Name": f"{channel}:objective_loss",
                    "Regex": rf"#quality_metric: host=\S+, epoch=\S+, {channel} \S+_objective <loss>=(\S+)",
                    "Type": "Minimize",
                }
            )
    return definitions
