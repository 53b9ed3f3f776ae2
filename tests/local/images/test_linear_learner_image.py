"""The Linear Learner image trains and serves like SageMaker's built-in Linear Learner."""

from __future__ import annotations

import contextlib
import io
import json
import re

import numpy as np
import pytest

from helpers.local.images import algorithm_metrics, objective_type, resolve_image
from helpers.local.images.toolkit.container import run_training

from .conftest import (
    csv_channels,
    failure_reason,
    http_call,
    invoke,
    make_ml_root,
    model_server,
    regression_rows,
    run_image,
    to_csv,
)

MODULE = "helpers.local.images.linear_learner"
URI = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
REGRESSOR = {"feature_dim": 5, "predictor_type": "regressor", "mini_batch_size": 50}


def train_in_process(root) -> tuple[int, str]:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = run_training(MODULE, root)
    return code, output.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = make_ml_root(
        tmp_path_factory.mktemp("ll"),
        REGRESSOR,
        csv_channels(regression_rows(300, 0), regression_rows(100, 1)),
    )
    return root, run_image(MODULE, "train", root)


def test_image_uri_and_metric_definitions():
    assert resolve_image(URI) == MODULE
    assert objective_type(URI, "validation:objective_loss") == "Minimize"
    assert objective_type(URI, "validation:mse") == "Minimize"
    assert objective_type(URI, "validation:binary_classification_accuracy") == "Maximize"
    assert objective_type(URI, "test:macro_f_beta") == "Maximize"


def test_training_logs_each_epoch_and_saves_the_model(trained):
    root, result = trained
    assert result.returncode == 0, result.stdout + result.stderr
    assert (root / "model" / "model_algo-1").stat().st_size > 0
    epochs = re.findall(
        r"#quality_metric: host=algo-1, epoch=(\d+), validation mse_objective <loss>=(\S+)", result.stdout
    )
    assert epochs and epochs[0][0] == "0"
    final = re.search(r"#quality_metric: host=algo-1, validation mse <loss>=(\S+)", result.stdout)
    assert final and float(final.group(1)) < 0.1  # the synthetic label's noise variance is 0.01


def test_metric_regexes_match_the_log(trained):
    _, result = trained
    lines = result.stdout.splitlines()
    found = {}
    for definition in algorithm_metrics(URI):
        values = [float(m.group(1)) for line in lines if (m := re.search(definition["Regex"], line))]
        if values:
            found[definition["Name"]] = values
    assert len(found["validation:objective_loss"]) >= 1
    assert len(found["validation:objective_loss:final"]) == 1
    assert found["validation:mse"] == found["validation:objective_loss:final"]
    assert {"train:objective_loss", "train:mse", "validation:absolute_loss"} <= set(found)


def test_missing_predictor_type_fails_the_job(tmp_path):
    root = make_ml_root(tmp_path, {"feature_dim": 5}, csv_channels(regression_rows(50, 0)))
    result = run_image(MODULE, "train", root)
    assert result.returncode == 1
    assert failure_reason(root) == (
        "ClientError: No value(s) were specified for 'predictor_type' which are required hyperparameter(s)"
    )


def test_booleans_as_the_sdk_sends_them_train(tmp_path):
    """``sagemaker.LinearLearner(normalize_data=True, use_bias=False)`` sends ``str(value)``: 'True' and
    'False' (sagemaker/amazon/hyperparameter.py ``serialize_all``), which the algorithm accepts."""
    hyperparameters = {"predictor_type": "regressor", "normalize_data": "True", "use_bias": "False"}
    root = make_ml_root(tmp_path, hyperparameters, csv_channels(regression_rows(50, 0)))
    code, _ = train_in_process(root)
    assert code == 0, failure_reason(root)
    assert any((root / "model").iterdir())


@pytest.mark.parametrize(
    ("hyperparameters", "reason"),
    [
        ({"predictor_type": "regresor"}, "'regresor' is not valid for 'predictor_type'"),
        ({"predictor_type": "regressor", "mini_batch_size": 0}, "'0' is not valid for 'mini_batch_size'"),
        ({"predictor_type": "regressor", "epochs": "many"}, "'many' is not valid for 'epochs'"),
        ({"predictor_type": "regressor", "learnin_rate": 0.1}, "('learnin_rate' was unexpected)"),
        ({"predictor_type": "multiclass_classifier"}, "num_classes must be at least 3"),
        (
            {"predictor_type": "regressor", "feature_dim": 4},
            "has 5 features (columns after the label) but feature_dim is 4",
        ),
        ({"predictor_type": "binary_classifier"}, "labels other than 0 and 1"),
    ],
)
def test_bad_settings_fail_with_the_reason(tmp_path, hyperparameters, reason):
    root = make_ml_root(tmp_path, hyperparameters, csv_channels(regression_rows(50, 0)))
    code, _ = train_in_process(root)
    assert code == 1
    assert failure_reason(root).startswith("ClientError: ")
    assert reason in failure_reason(root)


def test_data_without_content_type_is_refused_with_the_fix(tmp_path):
    root = make_ml_root(tmp_path, REGRESSOR, csv_channels(regression_rows(50, 0), content_type=None))
    code, _ = train_in_process(root)
    assert code == 1
    assert "is not recordIO-protobuf" in failure_reason(root)
    assert "set ContentType to text/csv" in failure_reason(root)


def test_binary_classifier_predicts_labels(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    label = (x[:, 0] - x[:, 1] > 0).astype(float)
    hyperparameters = {"predictor_type": "binary_classifier", "feature_dim": 3, "mini_batch_size": 100}
    root = make_ml_root(tmp_path, hyperparameters, csv_channels(np.column_stack([label, x])))
    code, log = train_in_process(root)
    assert code == 0, log
    accuracy = re.search(r"train binary_classification_accuracy <score>=(\S+)", log)
    assert accuracy and float(accuracy.group(1)) >= 0.9, log
    from helpers.local.images.linear_learner.serve import load_handler

    body, content_type = load_handler(root / "model")(b"2,-2,0\n-2,2,0", "text/csv", "application/json")
    predictions = json.loads(body)["predictions"]
    assert [p["predicted_label"] for p in predictions] == [1, 0]
    assert predictions[0]["score"] > 0.9 and predictions[1]["score"] < 0.1


def test_serving_answers_csv_and_json_with_scores(trained):
    root, _ = trained
    rows = regression_rows(3, seed=7)
    features = rows[:, 1:]
    with model_server(MODULE, root) as port:
        assert http_call(port, "GET", "/ping")[0] == 200
        status, body, headers = invoke(port, to_csv(features).encode())
        assert status == 200 and headers["content-type"] == "application/json"
        scores = [p["score"] for p in json.loads(body)["predictions"]]
        assert np.allclose(scores, rows[:, 0], atol=0.5)

        request = json.dumps({"instances": [{"features": list(f)} for f in features]}).encode()
        status, body, _ = invoke(port, request, content_type="application/json")
        assert status == 200 and [p["score"] for p in json.loads(body)["predictions"]] == pytest.approx(
            scores
        )

        single = json.dumps({"features": list(features[0])}).encode()
        status, body, _ = invoke(
            port, single, content_type="application/json", accept="application/jsonlines"
        )
        assert status == 200 and json.loads(body)["score"] == pytest.approx(scores[0])

        status, body, _ = invoke(port, to_csv(features[:1]).encode(), accept="text/csv")
        assert status == 200 and float(body) == pytest.approx(scores[0])

        assert invoke(port, b"")[0] == 204
        status, message, _ = invoke(port, b"1,2,3")
        assert status == 400 and b"5 features" in message
        status, message, _ = invoke(port, b'{"instances": [{"values": 1}]}', content_type="application/json")
        assert status == 400
        assert invoke(port, b"0:1 1:2", content_type="text/libsvm")[0] == 415
        status, message, _ = invoke(port, b"1,2,,4,5")
        assert status == 400 and b"Record 1, feature 3 is missing" in message
        status, message, _ = invoke(
            port, b'{"features": [1, 2, null, 4, 5]}', content_type="application/json"
        )
        assert status == 400 and b"feature 3" in message
        status, message, _ = invoke(port, b'{"features": [1, "\xff"]}', content_type="application/jsonlines")
        assert status == 400 and b"line 1" in message
        sparse = {"data": {"features": {"keys": [0, 7], "values": [1, 2], "shape": [5]}}}
        status, message, _ = invoke(port, json.dumps(sparse).encode(), content_type="application/json")
        assert status == 400 and b"sparse key 7 is outside the shape [5]" in message
        assert invoke(port, to_csv(features[:1]).encode(), accept="image/png")[0] == 406


def test_unsupported_default_accept_stops_the_model_loading(trained, monkeypatch):
    from helpers.local.images.linear_learner.serve import load_handler
    from helpers.local.images.toolkit.errors import UserError

    root, _ = trained
    monkeypatch.setenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "text/csv")
    assert load_handler(root / "model")(b"1,2,3,4,5", "text/csv", "")[1] == "text/csv"
    monkeypatch.setenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "image/png")
    with pytest.raises(UserError, match="application/json, application/jsonlines, text/csv"):
        load_handler(root / "model")
