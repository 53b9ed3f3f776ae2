"""Model files written by older XGBoost images, as bytes today's xgboost can load.

What each image version leaves in ``model.tar.gz`` (sagemaker-xgboost-container, ``train.py`` per tag):

* ``0.72`` (``xgboost:1``) and ``0.90-1`` … ``1.2-2``: ``pkl.dump(booster)``, a pickle of
  ``xgboost.core.Booster`` whose state holds the raw model under ``handle``: the legacy binary format
  (xgboost < 1.0), ``CONFIG-offset:`` + binary + JSON config (1.0 to 1.2), or ``{"Config", "Model"}``
  JSON (1.3 and later pickles, e.g. the SDK's own test models).
* ``1.3-1`` … ``1.7-1``: ``booster.save_model("xgboost-model")``: no extension, so the legacy binary.
* ``2.x``/``3.0-x``: UBJSON.

The installed xgboost (3.x) reads JSON and UBJSON only: neither the legacy binary nor, since it
unpickles through its own ``Booster``, any pickle holding one. So this module reads a pickle without
importing xgboost's class and converts the legacy binary (gbtree and dart boosters) into the JSON model
schema: the same trees, base score and attributes, predicting what the old image predicted.
"""

from __future__ import annotations

import io
import json
import math
import pickle
import struct
from typing import Any

CONFIG_HEADER = b"CONFIG-offset:"
# LearnerModelParam: base_score, num_feature, num_class, contain_extra_attrs, contain_eval_metrics,
# major_version, minor_version, then reserved ints: 136 bytes in every legacy version.
_LEARNER_PARAM = struct.Struct("<fIiiiII")
_LEARNER_PARAM_SIZE = 136
# GBTreeModelParam: num_trees, num_roots, num_feature, pad, num_pbuffer (int64), num_output_group,
# size_leaf_vector, 32 reserved ints.
_GBTREE_PARAM = struct.Struct("<iiiiqii")
_GBTREE_PARAM_SIZE = 160
# TreeParam: num_roots, num_nodes, num_deleted, max_depth, num_feature, size_leaf_vector, 31 reserved.
_TREE_PARAM = struct.Struct("<iiiiii")
_TREE_PARAM_SIZE = 148
_NODE = struct.Struct("<iiiIf")  # parent, left, right, split index (top bit: default left), value
_NODE_STAT = struct.Struct("<fffi")  # loss_chg, sum_hess, base_weight, leaf_child_cnt
_ROOT_PARENT = 2147483647


class LegacyModelError(ValueError):
    """The bytes are not a model this reader knows; the message says what they are."""


class _PickledBooster:
    """Stands in for ``xgboost.core.Booster`` while unpickling: keeps the state, loads nothing."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.state = state


# What a pickled Booster's state needs besides the Booster: Python 2's and 3's bytearray.
_PICKLE_GLOBALS = {
    ("builtins", "bytearray"),
    ("__builtin__", "bytearray"),
    ("_codecs", "encode"),
    ("copy_reg", "_reconstructor"),
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
    ("__builtin__", "object"),
}


class _BoosterUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("xgboost") and name == "Booster":
            return _PickledBooster
        if (module, name) in _PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise LegacyModelError(f"the pickle holds {module}.{name}, not an xgboost Booster")


def is_pickle(raw: bytes) -> bool:
    # Protocol 2+ starts with PROTO (0x80); protocols 0 and 1 (Python 2's pickles) with a GLOBAL.
    return raw[:1] == b"\x80" or raw[:1] == b"c"


def unpickle_booster(raw: bytes) -> tuple[bytes, dict[str, Any]]:
    """The raw model bytes a pickled Booster holds and the rest of its state (``best_iteration``...)."""
    try:
        loaded = _BoosterUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except LegacyModelError:
        raise
    except Exception as exc:
        raise LegacyModelError(f"not a readable pickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(loaded, _PickledBooster) or not isinstance(loaded.state.get("handle"), bytearray):
        raise LegacyModelError("the pickle holds no xgboost Booster")
    state = dict(loaded.state)
    return bytes(state.pop("handle")), state


def to_loadable(raw: bytes) -> bytes:
    """Model bytes (any format an XGBoost image wrote) as JSON or UBJSON today's xgboost loads."""
    extra: dict[str, Any] = {}
    if is_pickle(raw):
        try:
            raw, extra = unpickle_booster(raw)
        except LegacyModelError as not_a_pickle:
            # A legacy binary whose base_score happens to start with a pickle's first byte.
            try:
                return _with_attributes(legacy_binary_to_json(raw), extra)
            except (LegacyModelError, struct.error, UnicodeDecodeError):
                raise not_a_pickle from None
    if raw.startswith(b'{"'):  # JSON (UBJSON also opens with "{", then a length marker)
        document = json.loads(raw)
        model = document.get("Model", document)
        return _with_attributes(model, extra)
    if raw.startswith(CONFIG_HEADER):
        offset = struct.unpack_from("<q", raw, len(CONFIG_HEADER))[0]
        start = len(CONFIG_HEADER) + 8
        raw = raw[start : start + offset]
    return _with_attributes(legacy_binary_to_json(raw), extra)


def _with_attributes(model: dict[str, Any], extra: dict[str, Any]) -> bytes:
    # Early stopping's best iteration lived on the Python object in older pickles.
    attributes = model["learner"].setdefault("attributes", {})
    if "best_iteration" in extra and "best_iteration" not in attributes:
        attributes["best_iteration"] = str(extra["best_iteration"])
    return json.dumps(model).encode()


class _Reader:
    def __init__(self, raw: bytes):
        self.raw = raw
        self.at = 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.raw):
            raise LegacyModelError("the legacy binary model ends early: the file is truncated")
        chunk = self.raw[self.at : self.at + size]
        self.at += size
        return chunk

    def unpack(self, layout: struct.Struct, size: int | None = None) -> tuple:
        return layout.unpack_from(self.take(size or layout.size))

    def string(self) -> str:
        (length,) = struct.unpack("<Q", self.take(8))
        if length > len(self.raw):
            raise LegacyModelError("not an XGBoost model: a string length runs past the end of the file")
        return self.take(length).decode("utf-8", "replace")

    def done(self) -> bool:
        return self.at >= len(self.raw)


# PredTransform of each objective: before 1.0 the binary kept base_score as a margin.
_MARGIN_TO_SCORE = {
    "binary:logistic": lambda m: 1 / (1 + math.exp(-m)),
    "reg:logistic": lambda m: 1 / (1 + math.exp(-m)),
    "count:poisson": math.exp,
    "reg:gamma": math.exp,
    "reg:tweedie": math.exp,
    "survival:cox": math.exp,
}


def legacy_binary_to_json(raw: bytes) -> dict[str, Any]:
    """The JSON model document for a legacy binary model (``save_raw()`` of xgboost < 2)."""
    reader = _Reader(raw[4:] if raw.startswith(b"binf") else raw)
    base_score, num_feature, num_class, extra_attrs, _, major, _ = reader.unpack(
        _LEARNER_PARAM, _LEARNER_PARAM_SIZE
    )
    objective = reader.string()
    booster = reader.string()
    if booster not in ("gbtree", "dart"):
        raise LegacyModelError(
            f"not a tree model this service can convert: booster {booster!r} (objective {objective!r}); "
            "retrain it with the current image"
        )
    num_trees, _, _, _, _, num_groups, _ = reader.unpack(_GBTREE_PARAM, _GBTREE_PARAM_SIZE)
    trees = [_tree(reader, i) for i in range(num_trees)]
    tree_info = list(struct.unpack(f"<{num_trees}i", reader.take(4 * num_trees))) if num_trees else []
    weight_drop: list[float] = []
    if booster == "dart":
        (count,) = struct.unpack("<Q", reader.take(8))
        weight_drop = list(struct.unpack(f"<{count}f", reader.take(4 * count)))
    attributes: dict[str, str] = {}
    if extra_attrs and not reader.done():
        (count,) = struct.unpack("<Q", reader.take(8))
        for _ in range(count):
            key = reader.string()
            attributes[key] = reader.string()
    if major == 0 and objective in _MARGIN_TO_SCORE:
        base_score = _MARGIN_TO_SCORE[objective](base_score)
    objective_json = "reg:squarederror" if objective == "reg:linear" else objective
    per_round = max(num_groups, 1)
    gbtree = {
        "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": str(num_trees)},
        "iteration_indptr": list(range(0, num_trees + 1, per_round)),
        "tree_info": tree_info,
        "trees": trees,
    }
    gradient_booster: dict[str, Any] = {"model": gbtree, "name": "gbtree"}
    if booster == "dart":
        gradient_booster = {"gbtree": gradient_booster, "name": "dart", "weight_drop": weight_drop}
    return {
        "learner": {
            "attributes": {k: v for k, v in attributes.items() if not k.startswith("SAVED_PARAM_")},
            "feature_names": [],
            "feature_types": [],
            "gradient_booster": gradient_booster,
            "learner_model_param": {
                "base_score": repr(float(base_score)),
                "boost_from_average": "0",
                "num_class": str(num_class),
                "num_feature": str(num_feature),
                "num_target": "1",
            },
            "objective": _objective(objective_json, num_class),
        },
        "version": [2, 0, 0],  # the schema with iteration_indptr and a scalar base_score
    }


def _objective(name: str, num_class: int) -> dict[str, Any]:
    if name.startswith("multi:"):
        return {"name": name, "softmax_multiclass_param": {"num_class": str(num_class)}}
    return {"name": name}


def _tree(reader: _Reader, tree_id: int) -> dict[str, Any]:
    _, num_nodes, _, _, num_feature, size_leaf_vector = reader.unpack(_TREE_PARAM, _TREE_PARAM_SIZE)
    nodes = [reader.unpack(_NODE) for _ in range(num_nodes)]
    stats = [reader.unpack(_NODE_STAT) for _ in range(num_nodes)]
    if size_leaf_vector:
        (count,) = struct.unpack("<Q", reader.take(8))
        reader.take(4 * count)
    # Pruned nodes stay in the array, marked deleted and unreachable: keep only the nodes the root
    # reaches, numbered breadth first.
    order, new_id = [0], {0: 0}
    for old in order:
        _, left, right, _, _ = nodes[old]
        if left != -1:
            for child in (left, right):
                new_id[child] = len(order)
                order.append(child)
    names = (
        "left_children", "right_children", "parents", "split_indices", "default_left",
        "split_conditions", "loss_changes", "sum_hessian", "base_weights",
    )  # fmt: skip
    columns: dict[str, list] = {name: [] for name in names}
    parent_of = {}
    for old in order:
        _, left, right, sindex, value = nodes[old]
        if left != -1:
            parent_of[left] = parent_of[right] = new_id[old]
        columns["left_children"].append(new_id[left] if left != -1 else -1)
        columns["right_children"].append(new_id[right] if left != -1 else -1)
        columns["parents"].append(parent_of.get(old, _ROOT_PARENT))
        columns["split_indices"].append(sindex & 0x7FFFFFFF)
        columns["default_left"].append(sindex >> 31)
        columns["split_conditions"].append(value)
        loss, hess, weight, _ = stats[old]
        columns["loss_changes"].append(loss)
        columns["sum_hessian"].append(hess)
        columns["base_weights"].append(weight)
    count = len(order)
    return {
        **columns,
        "categories": [],
        "categories_nodes": [],
        "categories_segments": [],
        "categories_sizes": [],
        "id": tree_id,
        "split_type": [0] * count,
        "tree_param": {
            "num_deleted": "0",
            "num_feature": str(num_feature),
            "num_nodes": str(count),
            "size_leaf_vector": "1",
        },
    }
