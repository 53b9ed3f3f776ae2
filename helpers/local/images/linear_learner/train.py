"""Training like the built-in Linear Learner, with scikit-learn's SGD doing the maths.

As the real algorithm does, it standardises the features (and a regressor's label), trains a few
models side by side with different learning rates or weight decays, one mini-batch at a time,
keeps the one with the lowest validation loss, and stops early when that loss stops improving.
Each epoch logs ``#quality_metric: host=algo-1, epoch=3, validation mse_objective <loss>=...``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers.local.images.linear_learner import MODEL_FILE
from helpers.local.images.linear_learner.hyperparameters import validate
from helpers.local.images.linear_learner.model import LinearModel
from helpers.local.images.toolkit.container import TrainingEnvironment
from helpers.local.images.toolkit.errors import UserError
from helpers.local.images.toolkit.recordio_protobuf import CONTENT_TYPE as PROTOBUF
from helpers.local.images.toolkit.recordio_protobuf import read_records
from helpers.local.images.toolkit.training_data import read_csv_channel

CHANNELS = ("train", "validation", "test")
SEED = 0
OBJECTIVE_NAMES = {
    "squared_loss": "mse_objective",
    "absolute_loss": "absolute_loss_objective",
    "huber_loss": "huber_loss_objective",
    "logistic": "binary_classification_cross_entropy_objective",
    "hinge_loss": "hinge_loss_objective",
    "softmax_loss": "multiclass_cross_entropy_objective",
}
DEFAULT_LOSS = {
    "regressor": "squared_loss",
    "binary_classifier": "logistic",
    "multiclass_classifier": "softmax_loss",
}


def log(message: str, level: str = "INFO") -> None:
    stamp = time.strftime("%m/%d/%Y %H:%M:%S")
    print(f"[{stamp} {level} {threading.get_ident()}] {message}", flush=True)


@dataclass
class Dataset:
    features: np.ndarray
    labels: np.ndarray


def train(env: TrainingEnvironment) -> None:
    log(
        f"Reading provided configuration from {env.root}/input/config/hyperparameters.json: "
        f"{env.hyperparameters}"
    )
    settings = validate(env.hyperparameters)
    log(f"Final configuration: {json.dumps({k: str(v) for k, v in sorted(settings.items())})}")
    data = load_channels(env, settings)
    host = env.current_host

    model = fit(settings, data, host)
    report_final_metrics(model, settings, data, host)
    model.save(env.model_dir / MODEL_FILE)
    log(f"Saved the model to {env.model_dir / MODEL_FILE}")


def load_channels(env: TrainingEnvironment, settings: dict[str, Any]) -> dict[str, Dataset]:
    if "train" not in env.input_data_config:
        raise UserError("Missing required channel: train")
    data: dict[str, Dataset] = {}
    for channel, config in env.input_data_config.items():
        if channel not in CHANNELS:
            raise UserError(
                f"Extraneous channel found: {channel}. Linear Learner reads train, validation, test."
            )
        if check_content_type(channel, config.get("ContentType")) == PROTOBUF:
            matrix = read_protobuf_channel(channel, env.channel_files(channel))
        else:
            matrix = read_csv_channel(channel, env.channel_files(channel)).astype(np.float64)
        if matrix.shape[0] == 0:
            raise UserError(f"No data in the {channel} channel ({env.channel_dir(channel)}).")
        features, labels = matrix[:, 1:], matrix[:, 0]
        if np.isnan(matrix).any():
            raise UserError(
                f"The {channel} channel has empty or NaN values; Linear Learner needs every value."
            )
        check_features(channel, features, settings)
        check_labels(channel, labels, settings)
        data[channel] = Dataset(features, labels)
    return data


def check_content_type(channel: str, content_type: str | None) -> str:
    """``"csv"`` or ``PROTOBUF`` (the default when no ContentType is set), as the algorithm reads."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("text/csv", "csv"):
        return "csv"
    if not media or media == PROTOBUF:
        return PROTOBUF
    raise UserError(f"No iterator has been registered for ContentType ('{content_type}', '1.0')")


def read_protobuf_channel(channel: str, files: list[Path]) -> np.ndarray:
    """``label, features...`` rows from the channel's recordIO-protobuf files (``record_set`` data)."""
    blocks = []
    for path in files:
        try:
            features, labels = read_records(path.read_bytes(), f"{channel} channel file {path.name}")
        except UserError as exc:
            raise UserError(
                f"{exc}. RecordIO-protobuf is what Linear Learner reads when no ContentType is set; for "
                "CSV with the label first, set ContentType to text/csv."
            ) from None
        if not len(features):
            continue
        if labels is None:
            raise UserError(f"The records of {channel} channel file {path.name} have no label.")
        blocks.append(np.column_stack([labels, features]))
    width = max((b.shape[1] for b in blocks), default=1)
    if any(b.shape[1] != width for b in blocks):
        raise UserError(f"The {channel} channel's records have different numbers of features.")
    return np.vstack(blocks) if blocks else np.zeros((0, width))


def check_features(channel: str, features: np.ndarray, settings: dict[str, Any]) -> None:
    feature_dim = settings["feature_dim"]
    if feature_dim == "auto":
        settings["feature_dim"] = feature_dim = features.shape[1]
    if features.shape[1] != feature_dim:
        raise UserError(
            f"The {channel} channel has {features.shape[1]} features (columns after the label) but "
            f"feature_dim is {feature_dim}; set feature_dim to the number of feature columns."
        )


def check_labels(channel: str, labels: np.ndarray, settings: dict[str, Any]) -> None:
    predictor_type = settings["predictor_type"]
    if predictor_type == "binary_classifier" and not np.isin(labels, (0, 1)).all():
        raise UserError(
            f"The {channel} channel has labels other than 0 and 1; a binary_classifier needs 0/1."
        )
    if predictor_type == "multiclass_classifier":
        num_classes = settings["num_classes"]
        if not (np.equal(np.mod(labels, 1), 0).all() and labels.min() >= 0 and labels.max() < num_classes):
            raise UserError(
                f"The {channel} channel has labels outside 0..{num_classes - 1}; a multiclass_classifier "
                "needs integer labels in [0, num_classes)."
            )


def fit(settings: dict[str, Any], data: dict[str, Dataset], host: str) -> LinearModel:
    train_set = data["train"]
    predictor_type = settings["predictor_type"]
    mean, scale, label_mean, label_scale = _scaling(settings, train_set)
    loss = DEFAULT_LOSS[predictor_type] if settings["loss"] == "auto" else settings["loss"]
    objective_name = OBJECTIVE_NAMES[loss]
    x_train = (train_set.features - mean) / scale
    y_train = (train_set.labels - label_mean) / label_scale
    monitor = data.get("validation", train_set)
    candidates = [_estimator(options, settings, loss) for options in _candidate_options(settings, loss)]
    log(f"Training {len(candidates)} model(s) with {loss} for up to {settings['epochs']} epochs")

    classes = np.arange(max(2, settings["num_classes"])) if predictor_type != "regressor" else None
    rng = np.random.default_rng(SEED)
    batch = settings["mini_batch_size"]
    best_loss, best_snapshot, stale = np.inf, None, 0
    for epoch in range(settings["epochs"]):
        _train_one_epoch(candidates, x_train, y_train, rng.permutation(len(x_train)), batch, classes)
        models = [
            _linear_model(e, predictor_type, loss, mean, scale, label_mean, label_scale) for e in candidates
        ]
        monitored = [objective(m, loss, monitor, settings) for m in models]
        leader = int(np.nanargmin(monitored))
        train_loss = objective(models[leader], loss, train_set, settings)
        log(f"#quality_metric: host={host}, epoch={epoch}, train {objective_name} <loss>={train_loss}")
        if "validation" in data:
            log(
                f"#quality_metric: host={host}, epoch={epoch}, "
                f"validation {objective_name} <loss>={monitored[leader]}"
            )
        log(
            f"#early_stopping_criteria_metric: host={host}, epoch={epoch}, "
            f"criteria={objective_name}, value={monitored[leader]}"
        )
        if (
            monitored[leader] < best_loss * (1 - settings["early_stopping_tolerance"])
            or best_snapshot is None
        ):
            best_loss, best_snapshot, stale = monitored[leader], models[leader], 0
            log(f"Epoch {epoch}: Loss improved. Updating best model")
        else:
            stale += 1
            log(f"Epoch {epoch}: Loss has not improved for {stale} epochs.")
        log(
            f"#progress_metric: host={host}, "
            f"completed {int(100 * (epoch + 1) / settings['epochs'])} % of epochs"
        )
        if stale >= settings["early_stopping_patience"]:
            log(f"Reached early stopping criteria after {epoch + 1} epochs")
            break
    assert best_snapshot is not None
    if predictor_type == "binary_classifier" and best_snapshot.link == "sigmoid":
        best_snapshot.threshold = _accuracy_threshold(best_snapshot, monitor, settings)
    best_snapshot.metadata.update(
        {"loss": loss, "objective": objective_name, "num_classes": settings["num_classes"]}
    )
    return best_snapshot


def _scaling(settings: dict[str, Any], train_set: Dataset) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Feature mean and scale (from up to num_point_for_scaler rows) and the label's, if normalised."""
    rows = _sample_rows(train_set.features, settings["num_point_for_scaler"])
    mean, scale = _feature_scaler(rows, settings["normalize_data"] == "true")
    regressor = settings["predictor_type"] == "regressor"
    normalize_label = settings["normalize_label"] == "true" or (
        settings["normalize_label"] == "auto" and regressor
    )
    if regressor and normalize_label:
        return mean, scale, float(train_set.labels.mean()), float(train_set.labels.std() or 1.0)
    return mean, scale, 0.0, 1.0


def _train_one_epoch(candidates, x, y, order: np.ndarray, batch: int, classes: np.ndarray | None) -> None:
    """One pass over the shuffled data, one ``partial_fit`` per mini-batch, for every candidate."""
    for estimator in candidates:
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            if classes is None:
                estimator.partial_fit(x[rows], y[rows])
            else:
                estimator.partial_fit(x[rows], y[rows], classes=classes)


def _sample_rows(features: np.ndarray, limit: int) -> np.ndarray:
    if len(features) <= limit:
        return features
    return features[np.random.default_rng(SEED).choice(len(features), size=limit, replace=False)]


def _feature_scaler(features: np.ndarray, normalize: bool) -> tuple[np.ndarray, np.ndarray]:
    if not normalize:
        return np.zeros(features.shape[1]), np.ones(features.shape[1])
    scale = features.std(axis=0)
    return features.mean(axis=0), np.where(scale > 0, scale, 1.0)


def _candidate_options(settings: dict[str, Any], loss: str) -> list[dict[str, Any]]:
    """Variants trained side by side, like the algorithm's ``num_models``: learning rates for a
    regressor left on ``auto``, weight decays otherwise (classifiers use SGD's own schedule)."""
    wd, learning_rate = settings["wd"], settings["learning_rate"]
    alphas = (1e-4, 1e-5, 1e-3) if wd == "auto" else (wd,)
    if learning_rate == "auto" and settings["predictor_type"] == "regressor":
        options = [
            {"learning_rate": "invscaling", "eta0": eta0, "alpha": alphas[0]} for eta0 in (0.01, 0.003, 0.03)
        ]
    elif learning_rate == "auto":
        options = [{"learning_rate": "optimal", "alpha": alpha} for alpha in alphas]
    else:
        options = [{"learning_rate": "invscaling", "eta0": learning_rate, "alpha": alpha} for alpha in alphas]
    if settings.get("_tuning_objective_metric"):
        return options[:1]  # under automatic model tuning the algorithm trains a single model
    num_models = settings["num_models"]
    return options if num_models == "auto" else options[: max(1, num_models)]


def _estimator(options: dict[str, Any], settings: dict[str, Any], loss: str):
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    l1 = 0.0 if settings["l1"] == "auto" else settings["l1"]
    alpha = options["alpha"] + l1
    common = {
        "penalty": "elasticnet" if l1 > 0 else "l2",
        "alpha": alpha,
        "l1_ratio": l1 / alpha if alpha > 0 else 0.0,
        "fit_intercept": settings["use_bias"] == "true",
        "learning_rate": options["learning_rate"],
        "eta0": options.get("eta0", 0.01),
        "random_state": SEED,
    }
    if settings["predictor_type"] == "regressor":
        sk_loss = {
            "squared_loss": "squared_error",
            "absolute_loss": "epsilon_insensitive",
            "huber_loss": "huber",
        }
        epsilon = settings["huber_delta"] if loss == "huber_loss" else 0.0
        return SGDRegressor(loss=sk_loss[loss], epsilon=epsilon, **common)
    return SGDClassifier(loss="hinge" if loss == "hinge_loss" else "log_loss", **common)


def _linear_model(estimator, predictor_type, loss, mean, scale, label_mean, label_scale) -> LinearModel:
    coef = np.atleast_2d(np.array(estimator.coef_, dtype=np.float64))
    intercept = np.atleast_1d(np.array(estimator.intercept_, dtype=np.float64))
    if predictor_type == "regressor":
        link = "identity"
    elif predictor_type == "binary_classifier":
        link = "margin" if loss == "hinge_loss" else "sigmoid"
    else:
        link = "ovr_sigmoid"
    return LinearModel(
        predictor_type=predictor_type,
        coef=coef,
        intercept=intercept,
        feature_mean=mean,
        feature_scale=scale,
        label_mean=label_mean,
        label_scale=label_scale,
        link=link,
        threshold=0.0 if link == "margin" else 0.5,
    )


def objective(model: LinearModel, loss: str, data: Dataset, settings: dict[str, Any]) -> float:
    """The training loss on ``data``, on the label's own scale."""
    y = data.labels
    if loss in ("squared_loss", "absolute_loss", "huber_loss"):
        error = model.scores(data.features) - y
        if loss == "squared_loss":
            return float(np.mean(error**2))
        if loss == "absolute_loss":
            return float(np.mean(np.abs(error)))
        delta = settings["huber_delta"]
        small = np.abs(error) <= delta
        return float(np.mean(np.where(small, 0.5 * error**2, delta * (np.abs(error) - 0.5 * delta))))
    if loss == "hinge_loss":
        margin = model.decision(data.features)[:, 0]
        return float(np.mean(np.maximum(0.0, 1.0 - (2 * y - 1) * margin)))
    scores = np.clip(model.scores(data.features), 1e-12, 1 - 1e-12)
    if scores.ndim == 1:
        return float(-np.mean(y * np.log(scores) + (1 - y) * np.log(1 - scores)))
    return float(-np.mean(np.log(scores[np.arange(len(y)), y.astype(int)])))


def _accuracy_threshold(model: LinearModel, data: Dataset, settings: dict[str, Any]) -> float:
    """The cut-off on P(label 1) that classifies ``data`` best (the default selection criterion)."""
    if settings["binary_classifier_model_selection_criteria"] != "accuracy":
        return 0.5
    scores = model.scores(data.features)
    candidates = np.unique(np.concatenate([[0.5], np.quantile(scores, np.linspace(0.01, 0.99, 99))]))
    accuracy = [np.mean((scores >= t) == data.labels) for t in candidates]
    best = max(accuracy)
    # Among equally good cut-offs prefer the one nearest 0.5.
    return float(min((abs(t - 0.5), t) for t, a in zip(candidates, accuracy, strict=True) if a == best)[1])


def report_final_metrics(
    model: LinearModel, settings: dict[str, Any], data: dict[str, Dataset], host: str
) -> None:
    loss = model.metadata["loss"]
    for channel in CHANNELS:
        if channel not in data:
            if channel == "test":
                log("Test data is not provided.")
            continue
        metrics = {model.metadata["objective"]: objective(model, loss, data[channel], settings)}
        metrics.update(quality_metrics(model, data[channel], settings))
        if channel != "train":
            for name, value in metrics.items():
                log(f"#{channel}_score ({host}) : ('{name}', {value})")
        for name, value in metrics.items():
            kind = "loss" if name.endswith("_objective") or name in ("mse", "absolute_loss") else "score"
            log(f"#quality_metric: host={host}, {channel} {name} <{kind}>={value}")


def quality_metrics(model: LinearModel, data: Dataset, settings: dict[str, Any]) -> dict[str, float]:
    scores = model.scores(data.features)
    y = data.labels
    if model.predictor_type == "regressor":
        return {"mse": float(np.mean((scores - y) ** 2)), "absolute_loss": float(np.mean(np.abs(scores - y)))}
    predicted = model.labels(scores)
    beta = settings["f_beta"]
    if model.predictor_type == "binary_classifier":
        tp = float(np.sum((predicted == 1) & (y == 1)))
        precision = tp / max(1.0, float(np.sum(predicted == 1)))
        recall = tp / max(1.0, float(np.sum(y == 1)))
        return {
            "binary_classification_accuracy": float(np.mean(predicted == y)),
            f"binary_f_{beta:.3f}": _f_beta(precision, recall, beta),
            "precision": precision,
            "recall": recall,
        }
    k = settings["accuracy_top_k"]
    top_k = np.argsort(-scores, axis=1)[:, :k]
    classes = np.arange(scores.shape[1])
    precisions = [
        float(np.sum((predicted == c) & (y == c)) / max(1, np.sum(predicted == c))) for c in classes
    ]
    recalls = [float(np.sum((predicted == c) & (y == c)) / max(1, np.sum(y == c))) for c in classes]
    return {
        "multiclass_accuracy": float(np.mean(predicted == y)),
        f"multiclass_top_k_accuracy_{k}": float(
            np.mean([label in row for label, row in zip(y, top_k, strict=True)])
        ),
        "macro_recall": float(np.mean(recalls)),
        "macro_precision": float(np.mean(precisions)),
        f"macro_f_{beta:.3f}": float(
            np.mean([_f_beta(p, r, beta) for p, r in zip(precisions, recalls, strict=True)])
        ),
    }


def _f_beta(precision: float, recall: float, beta: float) -> float:
    denominator = beta**2 * precision + recall
    return (1 + beta**2) * precision * recall / denominator if denominator > 0 else 0.0
