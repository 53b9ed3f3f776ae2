"""The built-in XGBoost algorithm's hyperparameters (container 1.7-1) and how they reach xgboost.

Older image versions accept a slightly different set (``silent`` up to 1.0-1 and in the legacy 0.72
image; see :mod:`helpers.local.images.xgboost.versions`).

Names, ranges and failure messages follow aws/sagemaker-xgboost-container, so a bad value fails
with the same reason here as on AWS, e.g. ``Hyperparameter max_depth: -1 is not in [0, +inf)``.
"""

from __future__ import annotations

from typing import Any

from helpers.local.images.toolkit.errors import UserError
from helpers.local.images.toolkit.hyperparameters import (
    CATEGORICAL,
    CONTINUOUS,
    INTEGER,
    LIST,
    TEXT,
    Hyperparameter,
    HyperparameterSpec,
    Interval,
    described,
)
from helpers.local.images.xgboost import metrics
from helpers.local.images.xgboost.versions import DEFAULT, RETIRED, ImageVersion, accepts

OBJECTIVES = (
    "binary:hinge",
    "binary:logistic",
    "binary:logitraw",
    "count:poisson",
    "multi:softmax",
    "multi:softprob",
    "rank:map",
    "rank:ndcg",
    "rank:pairwise",
    "reg:absoluteerror",
    "reg:gamma",
    "reg:linear",
    "reg:logistic",
    "reg:pseudohubererror",
    "reg:squarederror",
    "reg:squaredlogerror",
    "reg:tweedie",
    "survival:aft",
    "survival:cox",
)

# Metrics xgboost computes itself; the rest of the container's metrics are computed in Python.
NATIVE_METRICS = {
    "aft-nloglik", "auc", "aucpr", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik",
    "interval-regression-accuracy", "logloss", "mae", "map", "mape", "merror", "mlogloss", "mphe",
    "ndcg", "poisson-nloglik", "rmse", "rmsle", "tweedie-nloglik",
}  # fmt: skip


@described(f"{sorted(metrics.MAXIMIZE + metrics.MINIMIZE)}")
def _eval_metric_supported(metric: str) -> bool:
    name, at, threshold = metric.partition("@")
    if at:
        if name not in ("error", "ndcg", "map"):
            raise UserError(
                f"Metric '{metric}' is not supported. Parameter 'eval_metric' with customized threshold "
                "should be one of these options: 'error', 'ndcg', 'map'."
            )
        try:
            float(threshold.rstrip("-"))
        except ValueError:
            raise UserError(f"Threshold value 't' in '{name}@t' expects float input.") from None
        return True
    return metric in metrics.MAXIMIZE or metric in metrics.MINIMIZE


_TUNING_METRICS = [f"validation:{m}" for m in metrics.MAXIMIZE + metrics.MINIMIZE] + [
    f"train:{m}" for m in metrics.MAXIMIZE + metrics.MINIMIZE
]


def _integer(name: str, range: Interval, **kwargs: Any) -> Hyperparameter:
    return Hyperparameter(name, INTEGER, range, **kwargs)


def _continuous(name: str, range: Interval, **kwargs: Any) -> Hyperparameter:
    return Hyperparameter(name, CONTINUOUS, range, **kwargs)


def _categorical(name: str, values: tuple[str, ...], **kwargs: Any) -> Hyperparameter:
    return Hyperparameter(name, CATEGORICAL, values, **kwargs)


_UNIT = Interval(min_closed=0, max_closed=1)
_FRACTION = Interval(min_open=0, max_closed=1)
_NON_NEGATIVE = Interval(min_closed=0)
_TRUE_FALSE = ("true", "false")

SPEC = HyperparameterSpec(
    [
        _integer("num_round", Interval(min_closed=1), required=True),
        _integer("csv_weights", _UNIT),
        _integer("early_stopping_rounds", Interval(min_closed=1)),
        _categorical("booster", ("gbtree", "gblinear", "dart")),
        _integer("silent", _UNIT),
        _integer("verbosity", Interval(min_closed=0, max_closed=3)),
        _integer("nthread", Interval(min_closed=1)),
        _continuous("eta", _UNIT),
        _continuous("gamma", _NON_NEGATIVE),
        _integer("max_depth", _NON_NEGATIVE),
        _continuous("min_child_weight", _NON_NEGATIVE),
        _continuous("max_delta_step", _NON_NEGATIVE),
        _continuous("subsample", _FRACTION),
        _continuous("colsample_bytree", _FRACTION),
        _continuous("colsample_bylevel", _FRACTION),
        _continuous("colsample_bynode", _FRACTION),
        _continuous("lambda", _NON_NEGATIVE),
        _continuous("alpha", _NON_NEGATIVE),
        _categorical("tree_method", ("auto", "exact", "approx", "hist", "gpu_hist")),
        _continuous("sketch_eps", Interval(min_open=0, max_open=1)),
        _continuous("scale_pos_weight", Interval(min_open=0)),
        Hyperparameter(
            "updater",
            LIST,
            (
                "grow_colmaker",
                "distcol",
                "grow_histmaker",
                "grow_local_histmaker",
                "grow_skmaker",
                "grow_quantile_histmaker",
                "sync",
                "refresh",
                "prune",
                "shotgun",
                "coord_descent",
            ),
        ),  # fmt: skip
        _categorical("dsplit", ("row", "col")),
        _integer("refresh_leaf", _UNIT),
        _categorical("process_type", ("default", "update")),
        _categorical("grow_policy", ("depthwise", "lossguide")),
        _integer("max_leaves", _NON_NEGATIVE),
        _integer("max_bin", _NON_NEGATIVE),
        _categorical("predictor", ("auto", "cpu_predictor", "gpu_predictor")),
        Hyperparameter("monotone_constraints", TEXT),
        Hyperparameter("interaction_constraints", TEXT),
        _categorical("sample_type", ("uniform", "weighted")),
        _categorical("normalize_type", ("tree", "forest")),
        _continuous("rate_drop", _UNIT),
        _integer("one_drop", _UNIT),
        _continuous("skip_drop", _UNIT),
        _continuous("lambda_bias", _UNIT),
        _continuous("tweedie_variance_power", Interval(min_open=1, max_open=2)),
        _categorical("objective", OBJECTIVES),
        _integer("num_class", Interval(min_closed=2)),
        _continuous("base_score", _NON_NEGATIVE),
        _integer("_kfold", Interval(min_closed=2)),
        _integer("_num_cv_round", Interval(min_closed=1)),
        _categorical("_tuning_objective_metric", tuple(_TUNING_METRICS)),
        Hyperparameter("eval_metric", LIST, _eval_metric_supported),
        _integer("seed", Interval(min_open=-(2**31), max_open=2**31 - 1)),
        _integer("num_parallel_tree", Interval(min_closed=1)),
        _categorical("save_model_on_termination", _TRUE_FALSE),
        _categorical("aft_loss_distribution", ("normal", "logistic", "extreme")),
        _continuous("aft_loss_distribution_scale", _NON_NEGATIVE),
        _categorical("single_precision_histogram", _TRUE_FALSE),
        _categorical("deterministic_histogram", _TRUE_FALSE),
        _categorical("sampling_method", ("uniform", "gradient_based")),
        _integer("prob_buffer_row", Interval(min_open=1.0)),
        _integer("max_cat_to_onehot", Interval(min_closed=1)),
        _categorical("multi_strategy", ("one_output_per_tree", "multi_output_tree")),
        _continuous("huber_slope", _NON_NEGATIVE),
    ],
    aliases={"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"},
)

# Read by the container itself, never passed to xgboost.
CONTAINER_ONLY = {
    "num_round", "early_stopping_rounds", "csv_weights", "_tuning_objective_metric", "_kfold",
    "_num_cv_round", "save_model_on_termination", "eval_metric",
}  # fmt: skip
# Accepted by the 1.7 container but gone from today's xgboost; dropped with a warning.
REMOVED_FROM_XGBOOST = {
    "predictor", "dsplit", "single_precision_histogram", "deterministic_histogram", "prob_buffer_row",
    "sketch_eps", "lambda_bias",
}  # fmt: skip


def validate(user: dict[str, str], version: ImageVersion = DEFAULT) -> dict[str, Any]:
    """Parse and check the hyperparameters like the built-in container of ``version``; raise UserError
    if wrong."""
    for name in user:
        if not accepts(version, SPEC.aliases.get(name, name)):
            raise UserError(SPEC.messages.extraneous.format(name=name))
    values = SPEC.validate(user)
    objective = values.get("objective", "reg:squarederror")
    if objective in ("multi:softmax", "multi:softprob") and "num_class" not in values:
        raise UserError("Require input for parameter 'num_class' for multi-classification")
    if "num_class" in values and not objective.startswith("multi:"):
        raise UserError(
            "Do not need to setup parameter 'num_class' for learning task other than multi-classification."
        )
    for metric in values.get("eval_metric", []):
        if metric == "auc" and not objective.startswith(("binary:", "rank:")):
            raise UserError("Metric 'auc' can only be applied for classification and ranking problems.")
        if metric == "aft-nloglik" and objective != "survival:aft":
            raise UserError("Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.")
    tree_method = values.get("tree_method")
    if "monotone_constraints" in values and tree_method not in ("exact", "hist"):
        raise UserError(
            "monotone_constraints can be used only when the tree_method parameter is set to either "
            "'exact' or 'hist'."
        )
    if "interaction_constraints" in values and tree_method not in ("exact", "hist", "approx"):
        raise UserError(
            "interaction_constraints can be used only when the tree_method parameter is set to either "
            "'exact', 'hist' or 'approx'."
        )
    return values


def booster_params(values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The ``params`` for ``xgboost.train`` and the warnings to log about translated values."""
    params: dict[str, Any] = {}
    warnings: list[str] = []
    for name, value in values.items():
        if name in CONTAINER_ONLY or name in RETIRED:
            continue
        if name in REMOVED_FROM_XGBOOST:
            warnings.append(f'Parameters: {{ "{name}" }} are not used by this version of XGBoost.')
            continue
        params[name] = ",".join(value) if isinstance(value, list) else value
    if params.get("objective") == "reg:linear":
        warnings.append("reg:linear is now deprecated in favor of reg:squarederror.")
        params["objective"] = "reg:squarederror"
    if params.get("tree_method") == "gpu_hist":
        warnings.append("tree_method gpu_hist needs a GPU; training with hist on the CPU.")
        params["tree_method"] = "hist"
    return params, warnings
