"""Each XGBoost image version trains, answers and reads models as that version does on AWS."""

from __future__ import annotations

import json
import pickle
import struct
from unittest import mock

import numpy as np
import pytest
import xgboost as xgb

from helpers.local.images.toolkit.framework_version import IMAGE_URI_ENV

from .conftest import (
    csv_channels,
    failure_reason,
    invoke,
    make_ml_root,
    model_server,
    regression_rows,
    run_image,
)

MODULE = "helpers.local.images.xgboost"
LEGACY_URI = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
URI_0_90 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:0.90-1-cpu-py3"
URI_1_7 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def _trained_booster(objective: str = "binary:logistic") -> tuple[xgb.Booster, np.ndarray]:
    rows = regression_rows(120, 3)
    labels = (rows[:, 0] > 10).astype(float) if objective.startswith("binary") else rows[:, 0]
    params = {"objective": objective, "max_depth": 3, "eta": 0.3, "gamma": 0.5}
    booster = xgb.train(params, xgb.DMatrix(rows[:, 1:], label=labels), num_boost_round=4)
    return booster, rows[:10, 1:].astype(np.float32)


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def legacy_binary(booster: xgb.Booster, major_version: int = 0) -> bytes:
    """``booster`` in the legacy binary format of xgboost < 1.0 (``save_raw()`` of the 0.72 and 0.90-x
    images; dmlc/xgboost ``learner.cc``/``gbtree_model.h``/``tree_model.h`` of 0.72): base score as a
    margin, one unreachable deleted node per tree as the pruner leaves them."""
    model = json.loads(booster.save_raw("json"))["learner"]
    score = float(model["learner_model_param"]["base_score"].strip("[]"))
    objective = model["objective"]["name"]
    if major_version == 0 and objective == "binary:logistic":
        score = float(np.log(score / (1 - score)))
    num_feature = int(model["learner_model_param"]["num_feature"])
    out = struct.pack("<fIiiiII", score, num_feature, 0, 1, 0, major_version, 0) + b"\0" * (136 - 28)
    out += _string(objective) + _string("gbtree")
    trees = model["gradient_booster"]["model"]["trees"]
    out += struct.pack("<iiiiqii", len(trees), 1, num_feature, 0, 0, 1, 0) + b"\0" * 128
    for tree in trees:
        count = int(tree["tree_param"]["num_nodes"])
        out += struct.pack("<iiiiii", 1, count + 1, 1, 0, num_feature, 0) + b"\0" * 124
        for i in range(count):
            parent = tree["parents"][i]
            if i == 0:
                parent = -1
            elif tree["left_children"][parent] == i:
                parent |= 1 << 31
                parent -= 1 << 32
            sindex = tree["split_indices"][i] | (tree["default_left"][i] << 31)
            left, right = tree["left_children"][i], tree["right_children"][i]
            out += struct.pack("<iiiIf", parent, left, right, sindex, tree["split_conditions"][i])
        out += struct.pack("<iiiIf", -1, -1, -1, 0xFFFFFFFF, 99.0)  # a deleted node
        for i in range(count):
            out += struct.pack(
                "<fffi", tree["loss_changes"][i], tree["sum_hessian"][i], tree["base_weights"][i], 0
            )
        out += struct.pack("<fffi", 0, 0, 0, 0)
    out += struct.pack(f"<{len(trees)}i", *([0] * len(trees)))
    out += struct.pack("<Q", 1) + _string("best_iteration") + _string(str(len(trees) - 1))
    return out


class Booster:
    """Pickles as ``xgboost.core.Booster`` did: its state holds the raw model under ``handle``."""

    def __init__(self, handle: bytes):
        self.handle = bytearray(handle)
        self.feature_names = None
        self.best_ntree_limit = 4


Booster.__module__ = "xgboost.core"


def pickled_booster(handle: bytes, protocol: int) -> bytes:
    # pickle names the class by module and name, and checks that they lead back to it.
    with mock.patch.object(xgb.core, "Booster", Booster):
        return pickle.dumps(Booster(handle), protocol=protocol)


def _serve_model(tmp_path, raw: bytes, uri: str, monkeypatch):
    root = make_ml_root(tmp_path, {}, {})
    (root / "model" / "xgboost-model").write_bytes(raw)
    monkeypatch.setenv(IMAGE_URI_ENV, uri)
    return model_server(MODULE, root)


def test_legacy_image_accepts_silent_which_the_1_7_image_rejects(tmp_path, monkeypatch):
    """The legacy image and 0.90-1 to 1.0-1 list ``silent`` (sagemaker-xgboost-container 0.90-1
    ``hyperparameter_validation.py``; the course's ``xgboost:1`` notebooks set ``silent=0``); 1.2-1 and
    later reject it as an extraneous hyperparameter."""
    hyperparameters = {"num_round": 3, "max_depth": 2, "silent": 0, "objective": "reg:linear"}
    channels = csv_channels(regression_rows(60, 0))
    monkeypatch.setenv(IMAGE_URI_ENV, LEGACY_URI)
    legacy = make_ml_root(tmp_path / "legacy", hyperparameters, channels)
    assert run_image(MODULE, "train", legacy).returncode == 0
    assert (legacy / "model" / "xgboost-model").exists()
    monkeypatch.setenv(IMAGE_URI_ENV, URI_1_7)
    current = make_ml_root(tmp_path / "current", hyperparameters, channels)
    assert run_image(MODULE, "train", current).returncode != 0
    assert "Extraneous hyperparameter found: silent" in failure_reason(current)


def test_csv_answers_of_images_up_to_1_2_1_are_comma_joined(tmp_path, monkeypatch):
    """0.90-1 to 1.2-1 answer ``",".join(map(str, preds))`` as text/csv whatever the Accept
    (sagemaker-xgboost-container ``algorithm_mode/serve.py`` on those branches), which the original
    course parses with ``np.fromstring(result, sep=',')``."""
    booster, rows = _trained_booster("reg:squarederror")
    body = "\n".join(",".join(str(v) for v in row) for row in rows[:3]).encode()
    with _serve_model(tmp_path, bytes(booster.save_raw("ubj")), URI_0_90, monkeypatch) as port:
        status, answer, headers = invoke(port, body, accept="application/json")
    assert status == 200 and headers["content-type"].startswith("text/csv")
    assert b"\n" not in answer
    np.testing.assert_allclose(np.fromstring(answer, sep=","), booster.inplace_predict(rows[:3]), rtol=1e-6)


@pytest.mark.parametrize("wrap", ["legacy binary", "pickle protocol 0", "pickle binary + config"])
def test_models_of_older_images_predict_as_they_did(tmp_path, monkeypatch, wrap):
    """Models of older images are served (sagemaker-xgboost-container ``serve_utils.get_loaded_booster``
    tries ``pkl.load`` then ``Booster.load_model``): the 0.72 image's protocol-0 pickle of a Booster
    holding the legacy binary, 1.0-1's pickle of ``CONFIG-offset:`` + binary + JSON config, and 1.3-1's
    ``save_model`` legacy binary, which today's xgboost no longer reads."""
    booster, rows = _trained_booster()
    if wrap == "legacy binary":
        raw = legacy_binary(booster, major_version=1)
    elif wrap == "pickle protocol 0":
        raw = pickled_booster(legacy_binary(booster), protocol=0)
    else:
        binary = legacy_binary(booster, major_version=1)
        handle = b"CONFIG-offset:" + struct.pack("<q", len(binary)) + binary + b'{"learner": {}}'
        raw = pickled_booster(handle, protocol=2)
    body = "\n".join(",".join(str(v) for v in row) for row in rows).encode()
    with _serve_model(tmp_path, raw, LEGACY_URI, monkeypatch) as port:
        status, answer, _ = invoke(port, body)
    assert status == 200, answer
    np.testing.assert_allclose(np.fromstring(answer, sep=","), booster.inplace_predict(rows), rtol=1e-5)


def test_an_unreadable_model_names_its_format(tmp_path):
    """A model file no version wrote fails the model load naming what it is, not a health check."""
    root = make_ml_root(tmp_path, {}, {})
    (root / "model" / "xgboost-model").write_bytes(pickle.dumps({"weights": [1, 2]}))
    with pytest.raises(AssertionError) as failure, model_server(MODULE, root):
        pass
    assert "Model xgboost-model cannot be loaded: it is a pickle; the pickle holds no xgboost Booster" in str(
        failure.value
    )
