"""Training like the built-in XGBoost algorithm: channels ``train`` and ``validation``, real xgboost.

A job whose hyperparameters name ``sagemaker_program`` (the SDK's ``sagemaker.xgboost.XGBoost``) is in
framework mode instead: its script runs with the training toolkit's contract (script mode).

Per boosting round it prints ``[i]<TAB>train-<metric>:v<TAB>validation-<metric>:v`` as the container
does, stops early on the validation channel when ``early_stopping_rounds`` is set (without a
validation channel it trains every round, as the container does), and saves the booster as
``model/xgboost-model``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from helpers.local.images.toolkit.container import TrainingEnvironment
from helpers.local.images.toolkit.errors import UserError
from helpers.local.images.toolkit.framework_version import log_framework_version
from helpers.local.images.toolkit.script_mode import PROGRAM_PARAM, run_script
from helpers.local.images.toolkit.training_data import read_csv_channel, read_libsvm_channel
from helpers.local.images.xgboost import MODEL_FILE, custom_metrics, metrics
from helpers.local.images.xgboost.hyperparameters import NATIVE_METRICS, booster_params, validate

# The real image's SAGEMAKER_TRAINING_MODULE is sagemaker_xgboost_container.training:main.
FRAMEWORK_MODULE = "helpers.local.images.xgboost.train:train"
CHANNELS = ("train", "validation")
CSV, LIBSVM = "csv", "libsvm"
_LIBSVM_TYPES = ("libsvm", "text/libsvm", "text/x-libsvm")
_UNSUPPORTED_LOCALLY = (
    "parquet",
    "application/x-parquet",
    "recordio-protobuf",
    "application/x-recordio-protobuf",
)
_ACCEPTED = (
    "csv, libsvm, parquet, recordio-protobuf, text/csv, text/libsvm, text/x-libsvm, "
    "application/x-parquet, application/x-recordio-protobuf"
)

# Failures of xgboost that come from the learner's data or settings (the container's list).
CUSTOMER_ERRORS = (
    "label must be in",  # [0,1] / (0, 1) for logistic regression, [0, num_class) for multi-class
    "Target is multiclass but average='binary'",
    "feature_names mismatch",
    "Check failed: preds.size() == info.labels_.size()",
    "AUC: the dataset only contains pos or neg samples",
    "base_score must be in",
    "label must be nonnegative",
    "Parameter reg_lambda should be greater equal to 0",
)


# "[05:10:05] /path/to/regression_obj.cu:83: " before xgboost's own message
_SOURCE_LOCATION = re.compile(r"^\[[0-9:]+\] \S+?:[0-9]+: ")


def log(message: str) -> None:
    print(f"[{time.strftime('%Y-%m-%d:%H:%M:%S')}:INFO] {message}", flush=True)


def warn(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] WARNING: {message}", flush=True)


def train(env: TrainingEnvironment) -> None:
    """As sagemaker_xgboost_container ``training.train``: the learner's script when the job names one
    (``sagemaker_program``, framework mode), else the built-in algorithm."""
    if PROGRAM_PARAM in env.hyperparameters:
        log("Invoking user training script.")
        log_framework_version("xgboost", xgb.__version__)
        run_script(env, FRAMEWORK_MODULE)
        return
    log("Running XGBoost Sagemaker in algorithm mode")
    values = validate(env.hyperparameters)
    formats = validate_channels(env)
    params, warnings = booster_params(values)
    log(f"Hyperparameters: {env.hyperparameters}")

    # Like the container, csv_weights applies to both channels: each has its weight in column 2.
    csv_weights = values.get("csv_weights", 0)
    dtrain = load_dmatrix(env, "train", formats["train"], csv_weights=csv_weights)
    if dtrain is None:
        raise UserError(f"No data in training channel path {env.channel_dir('train')}")
    dval = None
    if "validation" in formats:
        dval = load_dmatrix(
            env, "validation", formats["validation"], csv_weights=csv_weights, width=dtrain.num_col()
        )
        if dval is None:
            raise UserError(f"No data in validation channel path {env.channel_dir('validation')}")
        if dval.num_col() != dtrain.num_col():
            raise UserError(
                f"The validation channel has {dval.num_col()} features but the train channel has "
                f"{dtrain.num_col()}; both need the same columns (label first, then the features)."
            )
    for channel, data in (("train", dtrain), ("validation", dval)):
        if data is not None:
            check_labels(channel, data.get_label(), params.get("objective", "reg:squarederror"), values)
    log("Single node training.")
    log(f"Train matrix has {dtrain.num_row()} rows and {dtrain.num_col()} columns")
    if dval is not None:
        log(f"Validation matrix has {dval.num_row()} rows")
    for message in warnings:
        warn(message)

    booster = run_boosting(params, values, dtrain, dval)
    save_model(booster, env.model_dir)


def validate_channels(env: TrainingEnvironment) -> dict[str, str]:
    """``{channel: "csv" | "libsvm"}``, failing as the container does on missing or unknown channels."""
    if "train" not in env.input_data_config:
        raise UserError("Missing required channel: train")
    formats = {}
    for channel, config in env.input_data_config.items():
        if channel not in CHANNELS:
            raise UserError(f"Extraneous channel found: {channel}")
        formats[channel] = data_format(config.get("ContentType"))
    if len(set(formats.values())) > 1:
        raise UserError("The train and validation channels must have the same ContentType.")
    return formats


def data_format(content_type: str | None) -> str:
    if content_type is None:
        return LIBSVM  # the container's default, so CSV data needs ContentType text/csv
    value = content_type.strip().lower()
    media, _, params = value.partition(";")
    media = media.strip()
    if media in _LIBSVM_TYPES:
        return LIBSVM
    if media in ("csv", "text/csv"):
        label_size = dict(p.strip().split("=", 1) for p in params.split(";") if "=" in p).get("label_size")
        if label_size not in (None, "1"):
            raise UserError(
                f"{content_type} is not an accepted csv ContentType. "
                "Optional parameter label_size must be equal to 1"
            )
        return CSV
    if media in _UNSUPPORTED_LOCALLY:
        raise UserError(
            f"ContentType {content_type} is accepted by SageMaker's XGBoost but not by the local "
            "service; write the data as CSV (ContentType text/csv) or LIBSVM (text/libsvm)."
        )
    raise UserError(f"{content_type} is not an accepted ContentType: {_ACCEPTED}.")


def check_labels(channel: str, labels: np.ndarray, objective: str, values: dict[str, Any]) -> None:
    """Fail early, with the container's wording, on labels the objective cannot learn from."""
    if not len(labels):
        return
    low, high = float(labels.min()), float(labels.max())
    if objective in ("binary:logistic", "binary:logitraw", "binary:hinge", "reg:logistic") and (
        low < 0 or high > 1
    ):
        raise UserError(
            f"label must be in [0,1] for logistic regression: the {channel} channel has labels from "
            f"{low:g} to {high:g} (objective {objective})."
        )
    if objective.startswith("multi:"):
        num_class = values["num_class"]
        if low < 0 or high >= num_class or not np.all(np.mod(labels, 1) == 0):
            raise UserError(
                f"label must be in [0, num_class): the {channel} channel has labels from {low:g} to "
                f"{high:g} with num_class {num_class}."
            )


def load_dmatrix(
    env: TrainingEnvironment, channel: str, data_format: str, csv_weights: int = 0, width: int = 0
):
    """The channel as an ``xgboost.DMatrix`` (None when it holds no rows)."""
    files = env.channel_files(channel)
    if data_format == CSV:
        log("Determined delimiter of CSV input is ','")
        matrix = read_csv_channel(channel, files)
        if matrix.shape[0] == 0:
            return None
        first_feature = 2 if csv_weights == 1 else 1
        weight = matrix[:, 1] if csv_weights == 1 else None
        return xgb.DMatrix(matrix[:, first_feature:], label=matrix[:, 0], weight=weight, missing=np.nan)
    features, labels = read_libsvm_channel(channel, files)
    if features is None or features.shape[0] == 0:
        return None
    if width > features.shape[1]:
        # A validation file may not mention the highest feature index of the training data.
        features.resize((features.shape[0], width))
    return xgb.DMatrix(features, label=labels)


class RoundLogger(xgb.callback.TrainingCallback):
    """Prints each round's evaluation like xgboost's own monitor: ``[i]<TAB>data-metric:value``."""

    def after_iteration(self, model, epoch: int, evals_log: dict) -> bool:
        print(format_round(epoch, evals_log, -1), flush=True)
        return False


def format_round(epoch: int, evals_log: dict[str, dict[str, list[float]]], index: int) -> str:
    parts = [f"[{epoch}]"]
    for data, results in evals_log.items():
        for metric, history in results.items():
            parts.append(f"{data}-{metric}:{history[index]:.5f}")
    return "\t".join(parts)


def run_boosting(params: dict[str, Any], values: dict[str, Any], dtrain, dval):
    objective = params.get("objective", "reg:squarederror")
    requested = list(values.get("eval_metric", []))
    tuning_metric = values.get("_tuning_objective_metric")
    if tuning_metric:
        log(f"Setting up HPO optimized metric to be : {tuning_metric.split(':', 1)[1]}")
        requested = sorted(set(requested) | {tuning_metric.split(":", 1)[1]})
    native = [m for m in requested if m.split("@")[0] in NATIVE_METRICS]
    custom = [m for m in requested if m in custom_metrics.NAMES]
    if native:
        params["eval_metric"] = native

    evals = [(dtrain, "train")] + ([(dval, "validation")] if dval is not None else [])
    callbacks = [RoundLogger()]
    rounds = values.get("early_stopping_rounds")
    if rounds and dval is None:
        # The container only stops early on the validation channel; without one it trains every round.
        log(
            "early_stopping_rounds is set but there is no validation channel: "
            f"training all {values['num_round']} rounds."
        )
        rounds = None
    if rounds:
        stop_metric = (
            tuning_metric.split(":", 1)[1] if tuning_metric else (requested[-1] if requested else None)
        )
        callbacks.append(
            xgb.callback.EarlyStopping(
                rounds=rounds,
                metric_name=stop_metric,
                data_name="validation",
                maximize=_maximize(stop_metric) if stop_metric else None,
                save_best=False,
            )
        )
        watched = f"validation-{stop_metric}" if stop_metric else "the validation metric"
        log(f"Will train until {watched} hasn't improved in {rounds} rounds.")

    history: dict[str, dict[str, list[float]]] = {}
    try:
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=values["num_round"],
            evals=evals,
            custom_metric=custom_metrics.custom_metric(custom, objective) if custom else None,
            callbacks=callbacks,
            evals_result=history,
            verbose_eval=False,
        )
    except xgb.core.XGBoostError as exc:
        raise _training_failure(exc) from exc
    if rounds and booster.num_boosted_rounds() < values["num_round"]:
        best = int(booster.best_iteration)
        print(f"Stopping. Best iteration:\n{format_round(best, history, best)}", flush=True)
    return booster


def _maximize(metric: str) -> bool:
    name = metric.split("@")[0]
    return name in metrics.MAXIMIZE


def _training_failure(exc: Exception) -> Exception:
    """ClientError for xgboost failures caused by the data or settings, UserError otherwise."""
    lines = [line for line in str(exc).split("Stack trace:")[0].splitlines() if line.strip()]
    detail = _SOURCE_LOCATION.sub("", lines[-1].strip()) if lines else str(exc)
    if any(known in detail for known in CUSTOMER_ERRORS):
        return UserError(detail)
    return RuntimeError(f"XGB train call failed with exception:\n {detail}")


def save_model(booster, model_dir: Path) -> Path:
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / MODEL_FILE
    # UBJSON bytes: what Booster.save_model writes by default, without its file-extension warning.
    path.write_bytes(bytes(booster.save_raw(raw_format="ubj")))
    return path
