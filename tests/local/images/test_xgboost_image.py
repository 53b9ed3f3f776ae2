"""The XGBoost image trains and serves like SageMaker's built-in XGBoost algorithm."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from helpers.local.images import UnknownImageError, algorithm_metrics, objective_type, resolve_image
from helpers.local.images.toolkit.container import run_training

from .conftest import (
    csv_channels,
    failure_reason,
    invoke,
    make_ml_root,
    model_server,
    regression_rows,
    run_image,
    to_csv,
)

MODULE = "helpers.local.images.xgboost"
URI = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
BOSTON_LIKE = {
    "max_depth": 3,
    "eta": 0.3,
    "objective": "reg:linear",
    "num_round": 60,
    "early_stopping_rounds": 5,
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One real training job, shared by the checks on its log, model and server."""
    root = make_ml_root(
        tmp_path_factory.mktemp("xgb"),
        BOSTON_LIKE,
        csv_channels(regression_rows(200, 0), regression_rows(80, 1)),
    )
    result = run_image(MODULE, "train", root)
    return root, result


@pytest.fixture(scope="module")
def server(trained):
    root, _ = trained
    with model_server(MODULE, root) as port:
        yield port


def test_image_uri_picks_the_image_by_repository_whatever_account_region_or_tag():
    assert resolve_image(URI) == MODULE
    assert (
        resolve_image("246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:0.90-1-cpu-py3")
        == MODULE
    )
    assert resolve_image("sagemaker-xgboost@sha256:" + "0" * 64) == MODULE
    assert resolve_image("174872318107.dkr.ecr.us-west-2.amazonaws.com/linear-learner:1").endswith(
        "linear_learner"
    )


def test_unknown_image_names_the_supported_repositories():
    with pytest.raises(
        UnknownImageError, match="sagemaker-xgboost.*linear-learner|linear-learner.*sagemaker-xgboost"
    ):
        resolve_image("123.dkr.ecr.us-east-1.amazonaws.com/my-own-image:latest")


def test_metric_definitions_say_which_way_is_better():
    names = {d["Name"]: d["Type"] for d in algorithm_metrics(URI)}
    assert names["validation:rmse"] == "Minimize"
    assert names["train:rmse"] == "Minimize"
    assert names["validation:auc"] == "Maximize"
    assert objective_type(URI, "validation:logloss") == "Minimize"
    assert objective_type(URI, "validation:nope") is None


def test_training_writes_the_model_and_logs_every_round(trained):
    root, result = trained
    assert result.returncode == 0, result.stdout + result.stderr
    assert (root / "model" / "xgboost-model").stat().st_size > 0
    assert not (root / "output" / "failure").exists()
    assert "Train matrix has 200 rows and 5 columns" in result.stdout
    assert "reg:linear is now deprecated in favor of reg:squarederror" in result.stdout
    rounds = re.findall(r"^\[(\d+)\]\ttrain-rmse:([\d.]+)\tvalidation-rmse:([\d.]+)$", result.stdout, re.M)
    assert rounds[0][0] == "0" and len(rounds) >= 10
    assert float(rounds[-1][2]) < float(rounds[0][2]) / 3


def test_metric_regexes_match_the_log_as_cloudwatch_shows_it(trained):
    _, result = trained
    shipped = [line.replace("\t", "#011") for line in result.stdout.splitlines()]
    regex = {d["Name"]: d["Regex"] for d in algorithm_metrics(URI)}
    values = [float(m.group(1)) for line in shipped if (m := re.search(regex["validation:rmse"], line))]
    train_values = [float(m.group(1)) for line in shipped if (m := re.search(regex["train:rmse"], line))]
    assert len(values) >= 10 and len(train_values) == len(values)
    assert values[-1] < 1.5


def test_bad_hyperparameter_fails_the_job_naming_it(tmp_path, train_rows):
    root = make_ml_root(tmp_path, {"num_round": 10, "max_depth": -1}, csv_channels(train_rows))
    result = run_image(MODULE, "train", root)
    assert result.returncode == 1
    assert failure_reason(root) == "ClientError: Hyperparameter max_depth: -1 is not in [0, +inf)"


def test_missing_num_round_fails_the_job(tmp_path, train_rows):
    root = make_ml_root(tmp_path, {"max_depth": 3}, csv_channels(train_rows))
    result = run_image(MODULE, "train", root)
    assert result.returncode == 1
    assert failure_reason(root) == "ClientError: Missing required hyperparameter: num_round"


def test_unknown_hyperparameter_fails_the_job(tmp_path, train_rows):
    root = make_ml_root(tmp_path, {"num_round": 5, "max_dept": 3}, csv_channels(train_rows))
    result = run_image(MODULE, "train", root)
    assert result.returncode == 1
    assert failure_reason(root) == "ClientError: Extraneous hyperparameter found: max_dept"


@pytest.mark.parametrize(
    ("hyperparameters", "reason"),
    [
        ({"num_round": "ten"}, "Hyperparameter num_round: could not parse value 'ten'"),
        ({"num_round": 5, "eta": 1.5}, "Hyperparameter eta: 1.5 is not in [0, 1]"),
        ({"num_round": 5, "subsample": 0}, "Hyperparameter subsample: 0.0 is not in (0, 1]"),
        ({"num_round": 5, "objective": "reg:lineer"}, "Hyperparameter objective: reg:lineer is not in"),
        ({"num_round": 5, "objective": "multi:softmax"}, "Require input for parameter 'num_class'"),
        ({"num_round": 5, "eval_metric": "auc"}, "Metric 'auc' can only be applied for classification"),
        ({"num_round": 5, "eval_metric": "rmse,nope"}, "Hyperparameter eval_metric: rmse,nope is not in"),
    ],
)
def test_hyperparameter_validation_messages(tmp_path, train_rows, hyperparameters, reason):
    root = make_ml_root(tmp_path, hyperparameters, csv_channels(train_rows))
    assert run_training(MODULE, root) == 1
    assert failure_reason(root).startswith(f"ClientError: {reason}")


def test_non_numeric_csv_names_the_file_and_cell(tmp_path, train_rows):
    text = to_csv(train_rows).splitlines()
    text[3] = text[3].replace(",", ",abc,", 1)
    channels = {"train": ("text/csv", {"part-1.csv": to_csv(train_rows), "houses.csv": "\n".join(text)})}
    root = make_ml_root(tmp_path, {"num_round": 5}, channels)
    assert run_training(MODULE, root) == 1
    reason = failure_reason(root)
    assert "'houses.csv'" in reason and "channel 'train'" in reason
    assert "line 4" in reason


def test_wrong_column_count_names_the_file(tmp_path, train_rows):
    text = to_csv(train_rows).splitlines()
    text[7] = text[7].rsplit(",", 1)[0]
    root = make_ml_root(tmp_path, {"num_round": 5}, {"train": ("text/csv", {"short.csv": "\n".join(text)})})
    assert run_training(MODULE, root) == 1
    assert (
        "File 'short.csv' in channel 'train': line 8 has 5 values but the first line has 6"
        in failure_reason(root)
    )


def test_validation_with_other_features_fails(tmp_path, train_rows):
    channels = csv_channels(train_rows, regression_rows(20, 3, features=4))
    root = make_ml_root(tmp_path, {"num_round": 5}, channels)
    assert run_training(MODULE, root) == 1
    assert "validation channel has 4 features but the train channel has 5" in failure_reason(root)


def test_csv_without_content_type_is_read_as_libsvm_and_says_so(tmp_path, train_rows):
    root = make_ml_root(tmp_path, {"num_round": 5}, {"train": (None, {"train.csv": to_csv(train_rows)})})
    assert run_training(MODULE, root) == 1
    assert "text/csv" in failure_reason(root)


def test_libsvm_training_and_serving(tmp_path, train_rows):
    def libsvm(rows):
        return "".join(
            f"{r[0]:.6g} " + " ".join(f"{i}:{v:.6g}" for i, v in enumerate(r[1:])) + "\n" for r in rows
        )

    root = make_ml_root(
        tmp_path, {"num_round": 20}, {"train": ("text/libsvm", {"train.libsvm": libsvm(train_rows)})}
    )
    assert run_training(MODULE, root) == 0
    from helpers.local.images.xgboost.serve import load_handler

    handler = load_handler(root / "model")
    body, content_type = handler(b"0:1.0 1:-1.0", "text/libsvm", "application/json")
    assert content_type == "application/json"
    assert abs(json.loads(body)["predictions"][0]["score"] - 15.0) < 2.0


def test_multiclass_probabilities_come_back_one_row_per_record(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 2))
    label = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    root = make_ml_root(
        tmp_path,
        {"num_round": 10, "objective": "multi:softprob", "num_class": 3, "eval_metric": "mlogloss,accuracy"},
        csv_channels(np.column_stack([label, x])),
    )
    assert run_training(MODULE, root) == 0
    from helpers.local.images.xgboost.serve import load_handler

    body, _ = load_handler(root / "model")(b"2,2\n-2,-2", "text/csv", "text/csv")
    rows = [[float(v) for v in line.split(",")] for line in body.decode().splitlines()]
    assert len(rows) == 2 and all(len(r) == 3 for r in rows)
    assert np.argmax(rows[0]) == 2 and np.argmax(rows[1]) == 0


def test_ping_and_execution_parameters(server):
    from .conftest import http_call

    assert http_call(server, "GET", "/ping")[0] == 200
    status, body, headers = http_call(server, "GET", "/execution-parameters")
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "MaxConcurrentTransforms": 1,
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": 6,
    }


def test_csv_invocations_predict_one_value_per_line(server):
    rows = regression_rows(3, seed=5)
    body = to_csv(rows[:, 1:]).encode()
    status, answer, headers = invoke(server, body)
    assert status == 200 and headers["content-type"] == "text/csv"
    predictions = [float(v) for v in answer.decode().split("\n")]
    assert len(predictions) == 3
    assert np.allclose(predictions, rows[:, 0], atol=1.5)
    single = invoke(server, to_csv(rows[:1, 1:]).strip().encode())[1]
    assert float(single) == pytest.approx(predictions[0])


def test_json_and_jsonlines_responses(server):
    body = to_csv(regression_rows(2, seed=6)[:, 1:]).encode()
    status, answer, headers = invoke(server, body, accept="application/json")
    assert status == 200 and headers["content-type"] == "application/json"
    scores = json.loads(answer)["predictions"]
    assert len(scores) == 2 and set(scores[0]) == {"score"}
    status, answer, _ = invoke(server, body, accept="application/jsonlines")
    assert [json.loads(line)["score"] for line in answer.decode().splitlines()] == [
        s["score"] for s in scores
    ]


def test_invocation_errors_have_sagemaker_statuses(server):
    row = b"0.1,0.2,0.3,0.4,0.5"
    assert invoke(server, b"")[0] == 204
    status, message, _ = invoke(server, b"0.1,abc,0.3,0.4,0.5")
    assert status == 400 and b"'abc'" in message
    status, message, _ = invoke(server, b"1,2,3")
    assert status == 400 and b"Feature size of csv inference data 3" in message
    status, message, _ = invoke(server, b"9," + row)
    assert status == 400 and b"label column" in message
    status, message, _ = invoke(server, b'{"instances": [[1, 2, 3, 4, 5]]}', content_type="application/json")
    assert status == 415 and b"text/csv" in message
    status, message, _ = invoke(server, row, accept="image/png")
    assert status == 406 and b"text/csv" in message
    assert invoke(server, row, accept="text/plain, application/json")[2]["content-type"] == "application/json"
    assert invoke(server, row, content_type=None)[0] == 200


def test_batch_transform_mode_ends_every_answer_with_a_newline(trained):
    root, _ = trained
    with model_server(MODULE, root, {"SAGEMAKER_BATCH": "true"}) as port:
        status, answer, _ = invoke(port, b"0.1,0.2,0.3,0.4,0.5\n1,1,1,1,1\n")
    assert status == 200
    assert answer.endswith(b"\n") and len(answer.decode().splitlines()) == 2


def test_labels_the_objective_cannot_take_are_a_client_error(tmp_path, train_rows):
    root = make_ml_root(tmp_path, {"num_round": 5, "objective": "binary:logistic"}, csv_channels(train_rows))
    assert run_training(MODULE, root) == 1
    reason = failure_reason(root)
    assert reason.startswith("ClientError: label must be in") and "logistic" in reason


def test_csv_weights_apply_to_the_train_and_validation_channels(tmp_path):
    train, validation = regression_rows(200, 0), regression_rows(80, 1)

    def weighted(rows: np.ndarray) -> np.ndarray:
        # Rows with a positive first feature count 50 times as much.
        return np.insert(rows, 1, np.where(rows[:, 1] > 0, 50.0, 1.0), axis=1)

    hyperparameters = {"num_round": 10, "max_depth": 2}
    weighted_root = make_ml_root(
        tmp_path / "weighted",
        hyperparameters | {"csv_weights": 1},
        csv_channels(weighted(train), weighted(validation)),
    )
    plain_root = make_ml_root(tmp_path / "plain", hyperparameters, csv_channels(train, validation))
    assert run_training(MODULE, weighted_root) == 0, failure_reason(weighted_root)
    assert run_training(MODULE, plain_root) == 0

    from helpers.local.images.xgboost.serve import load_handler

    body = to_csv(regression_rows(20, 9)[:, 1:]).encode()
    weighted_answer, _ = load_handler(weighted_root / "model")(body, "text/csv", "text/csv")
    plain_answer, _ = load_handler(plain_root / "model")(body, "text/csv", "text/csv")
    assert load_handler(weighted_root / "model").num_features == 5  # the weight is no feature
    assert weighted_answer != plain_answer


def test_early_stopping_without_validation_trains_every_round(tmp_path, train_rows, capsys):
    root = make_ml_root(tmp_path, BOSTON_LIKE, csv_channels(train_rows))
    assert run_training(MODULE, root) == 0
    log = capsys.readouterr().out
    assert "there is no validation channel: training all 60 rounds" in log
    assert "Will train until" not in log and "Stopping." not in log
    from helpers.local.images.xgboost.serve import load_booster

    booster = load_booster(root / "model")
    assert booster.num_boosted_rounds() == 60 and booster.attr("best_iteration") is None


def test_default_accept_from_the_environment_is_checked_when_the_model_loads(trained, monkeypatch, capsys):
    from helpers.local.images.toolkit.container import run_serving
    from helpers.local.images.xgboost.serve import load_handler

    root, _ = trained
    monkeypatch.setenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/json; charset=utf-8")
    body, content_type = load_handler(root / "model")(b"0.1,0.2,0.3,0.4,0.5", "text/csv", "")
    assert content_type == "application/json" and "predictions" in json.loads(body)

    monkeypatch.setenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "text/plain")
    monkeypatch.setattr("helpers.local.images.toolkit.serving.serve", lambda handler: None)  # never block
    assert run_serving(MODULE, root) == 1
    log = capsys.readouterr().out
    assert "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT='text/plain' is not a supported response type" in log
    assert "text/csv, application/json, application/jsonlines" in log


def test_predictor_matches_inplace_predict_on_an_early_stopped_model(trained):
    from helpers.local.images.xgboost.predictor import Predictor
    from helpers.local.images.xgboost.serve import load_booster

    root, _ = trained
    booster = load_booster(root / "model")
    best = int(booster.attr("best_iteration"))
    assert best + 1 < booster.num_boosted_rounds()  # the fixture's job did stop early
    iteration_range = (0, best + 1)
    predict = Predictor(booster, iteration_range)
    assert predict._dense is not None  # the fast path is the one under test
    features = regression_rows(50, seed=11)[:, 1:].astype(np.float32)
    features[3, 2] = np.nan
    for rows in (features[:1], features):
        expected = booster.inplace_predict(rows, iteration_range=iteration_range)
        assert np.array_equal(predict(rows), expected, equal_nan=True)
    assert not np.array_equal(predict(features), booster.inplace_predict(features))
