"""Linear Learner's hyperparameters: every name the algorithm accepts, with its defaults.

The local image acts on ``predictor_type``, ``num_classes``, ``feature_dim``, ``mini_batch_size``,
``epochs``, ``learning_rate``, ``wd``, ``l1``, ``use_bias``, ``loss``, ``normalize_data``,
``normalize_label``, ``num_point_for_scaler``, ``early_stopping_patience``,
``early_stopping_tolerance``, ``num_models``, ``binary_classifier_model_selection_criteria`` and
``accuracy_top_k``; the others are validated and accepted so a real job's settings run unchanged.
"""

from __future__ import annotations

from typing import Any

from helpers.local.images.toolkit.errors import UserError
from helpers.local.images.toolkit.hyperparameters import (
    CATEGORICAL,
    CONTINUOUS,
    INTEGER,
    TEXT,
    Hyperparameter,
    HyperparameterSpec,
    Interval,
    Messages,
)

PREDICTOR_TYPES = ("binary_classifier", "multiclass_classifier", "regressor")
LOSSES = {
    "regressor": ("squared_loss", "absolute_loss", "huber_loss"),
    "binary_classifier": ("logistic", "hinge_loss"),
    "multiclass_classifier": ("softmax_loss",),
}
ALL_LOSSES = (
    "auto", "logistic", "squared_loss", "absolute_loss", "hinge_loss", "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss", "quantile_loss", "huber_loss", "softmax_loss",
)  # fmt: skip
SELECTION_CRITERIA = (
    "accuracy", "f_beta", "precision_at_target_recall", "recall_at_target_precision", "loss_function",
)  # fmt: skip

_PREFIX = "Unable to initialize the algorithm. Failed to validate input hyperparameters: "
MESSAGES = Messages(
    missing="No value(s) were specified for '{name}' which are required hyperparameter(s)",
    extraneous=_PREFIX + "Additional properties are not allowed ('{name}' was unexpected)",
    unparsable=_PREFIX + "{value!r} is not valid for '{name}': expected {kind}",
    out_of_range=_PREFIX + "{raw!r} is not valid for '{name}': expected a value in {range}",
)

_POSITIVE = Interval(min_open=0)
_NON_NEGATIVE = Interval(min_closed=0)
_TRUE_FALSE = ("true", "false")
_AUTO_TRUE_FALSE = ("auto", "true", "false")


def _number(name: str, range: Interval, default: str, integer: bool = False) -> Hyperparameter:
    return Hyperparameter(name, INTEGER if integer else CONTINUOUS, range, default=default, allow_auto=True)


SPEC = HyperparameterSpec(
    [
        Hyperparameter("predictor_type", CATEGORICAL, PREDICTOR_TYPES, required=True),
        Hyperparameter("feature_dim", INTEGER, Interval(min_closed=1), default="auto", allow_auto=True),
        Hyperparameter("num_classes", INTEGER, Interval(min_closed=1), default="1"),
        Hyperparameter("mini_batch_size", INTEGER, Interval(min_closed=1), default="1000"),
        Hyperparameter("epochs", INTEGER, Interval(min_closed=1), default="15"),
        _number("learning_rate", _POSITIVE, "auto"),
        _number("wd", _NON_NEGATIVE, "auto"),
        _number("l1", _NON_NEGATIVE, "auto"),
        Hyperparameter("use_bias", CATEGORICAL, _TRUE_FALSE, default="true"),
        Hyperparameter("loss", CATEGORICAL, ALL_LOSSES, default="auto"),
        Hyperparameter("normalize_data", CATEGORICAL, _TRUE_FALSE, default="true"),
        Hyperparameter("normalize_label", CATEGORICAL, _AUTO_TRUE_FALSE, default="auto"),
        Hyperparameter("num_point_for_scaler", INTEGER, Interval(min_closed=1), default="10000"),
        Hyperparameter("early_stopping_patience", INTEGER, Interval(min_closed=1), default="3"),
        Hyperparameter("early_stopping_tolerance", CONTINUOUS, _POSITIVE, default="0.001"),
        _number("num_models", Interval(min_closed=1), "auto", integer=True),
        Hyperparameter(
            "binary_classifier_model_selection_criteria", CATEGORICAL, SELECTION_CRITERIA, default="accuracy"
        ),
        Hyperparameter("accuracy_top_k", INTEGER, Interval(min_closed=1), default="3"),
        Hyperparameter("f_beta", CONTINUOUS, _POSITIVE, default="1.0"),
        Hyperparameter("target_recall", CONTINUOUS, Interval(min_closed=0, max_closed=1), default="0.8"),
        Hyperparameter("target_precision", CONTINUOUS, Interval(min_closed=0, max_closed=1), default="0.8"),
        Hyperparameter("positive_example_weight_mult", TEXT, default="1.0"),
        Hyperparameter("balance_multiclass_weights", CATEGORICAL, _TRUE_FALSE, default="false"),
        Hyperparameter("optimizer", CATEGORICAL, ("auto", "sgd", "adam", "rmsprop"), default="auto"),
        _number("momentum", Interval(min_closed=0, max_open=1), "auto"),
        _number("beta_1", Interval(min_closed=0, max_open=1), "auto"),
        _number("beta_2", Interval(min_closed=0, max_open=1), "auto"),
        _number("bias_lr_mult", _POSITIVE, "auto"),
        _number("bias_wd_mult", _NON_NEGATIVE, "auto"),
        Hyperparameter("use_lr_scheduler", CATEGORICAL, _TRUE_FALSE, default="true"),
        _number("lr_scheduler_step", Interval(min_closed=1), "auto", integer=True),
        _number("lr_scheduler_factor", Interval(min_open=0, max_open=1), "auto"),
        _number("lr_scheduler_minimum_lr", _POSITIVE, "auto"),
        Hyperparameter("init_method", CATEGORICAL, ("uniform", "normal"), default="uniform"),
        Hyperparameter("init_scale", CONTINUOUS, _POSITIVE, default="0.07"),
        Hyperparameter("init_sigma", CONTINUOUS, _POSITIVE, default="0.01"),
        Hyperparameter("init_bias", CONTINUOUS, None, default="0.0"),
        Hyperparameter("loss_insensitivity", CONTINUOUS, _POSITIVE, default="0.01"),
        Hyperparameter("huber_delta", CONTINUOUS, _POSITIVE, default="1.0"),
        Hyperparameter("quantile", CONTINUOUS, Interval(min_open=0, max_open=1), default="0.5"),
        Hyperparameter("margin", CONTINUOUS, _POSITIVE, default="1.0"),
        Hyperparameter("unbias_data", CATEGORICAL, _AUTO_TRUE_FALSE, default="auto"),
        Hyperparameter("unbias_label", CATEGORICAL, _AUTO_TRUE_FALSE, default="auto"),
        Hyperparameter("num_calibration_samples", INTEGER, Interval(min_closed=1), default="10000000"),
        Hyperparameter("_tuning_objective_metric", TEXT),
        Hyperparameter("_kvstore", TEXT),
        Hyperparameter("_num_kv_servers", TEXT),
        Hyperparameter("_num_gpus", TEXT),
        Hyperparameter("_log_level", TEXT),
        Hyperparameter("_enable_profiler", TEXT),
    ],
    messages=MESSAGES,
)


def _lowercase_booleans(user: dict[str, str]) -> dict[str, str]:
    # The SDK's LinearLearner sends a Python bool as str(value): normalize_data=True arrives as 'True',
    # which the container reads as true.
    booleans = {hp.name for hp in SPEC.hyperparameters if hp.range in (_TRUE_FALSE, _AUTO_TRUE_FALSE)}
    return {k: str(v).strip().lower() if k in booleans else v for k, v in user.items()}


def validate(user: dict[str, str]) -> dict[str, Any]:
    """Typed hyperparameters with defaults; UserError in the algorithm's words if wrong."""
    values = SPEC.validate(_lowercase_booleans(user))
    predictor_type = values["predictor_type"]
    if predictor_type == "multiclass_classifier" and values["num_classes"] < 3:
        raise UserError(
            _PREFIX + "num_classes must be at least 3 when predictor_type is multiclass_classifier "
            "(use binary_classifier for two classes)."
        )
    loss = values["loss"]
    if loss != "auto" and loss not in LOSSES[predictor_type]:
        supported = ", ".join(LOSSES[predictor_type])
        raise UserError(
            f"The loss '{loss}' is not available for predictor_type {predictor_type} in the local "
            f"service. Use loss 'auto' or one of: {supported}."
        )
    return values
