"""What differs between the XGBoost image versions, as data: one row per image tag.

Sources: sagemaker-xgboost-container, per branch/tag: ``algorithm_mode/hyperparameter_validation.py``
(names), ``algorithm_mode/serve.py`` (the ``text/csv`` answer), ``algorithm_mode/train.py`` (the
saved model); the legacy ``xgboost:1`` image (0.72) from the developer guide's "XGBoost Release 0.72"
page and the original course, which reads its answers with ``np.fromstring(result, sep=',')``.

* Real-time ``text/csv`` answers: up to 1.2-1, ``",".join(map(str, preds))`` whatever the Accept
  (``12.5,13.1``); from 1.2-2, ``encoders.encode(preds, accept)``: one prediction per line. Batch
  transform (``SAGEMAKER_BATCH``) is one per line, each ending in a newline, in every version.
* Models: pickled Boosters up to 1.2-2, ``save_model`` (legacy binary) from 1.3-1 to 1.7-1, UBJSON
  from 3.0; :mod:`helpers.local.images.xgboost.legacy_model` reads them all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from helpers.local.images.toolkit.framework_version import IMAGE_URI_ENV, image_tag, tag_framework_version

COMMAS, LINES = "commas", "lines"


@dataclass(frozen=True)
class ImageVersion:
    tag: str  # the framework version of the tag: "1.2-1"; "0.72" for the legacy xgboost:1
    xgboost: str  # the library the image on AWS runs
    csv_answer: str  # COMMAS or LINES: how a real-time text/csv answer joins the predictions
    honours_accept: bool  # False: every real-time answer is text/csv, whatever the Accept
    saved_model: str  # what training leaves in model/xgboost-model


VERSIONS = (
    ImageVersion("0.72", "0.72", COMMAS, False, "pickled Booster (legacy binary)"),
    ImageVersion("0.90-1", "0.90", COMMAS, False, "pickled Booster (legacy binary)"),
    ImageVersion("0.90-2", "0.90", COMMAS, False, "pickled Booster (legacy binary)"),
    ImageVersion("1.0-1", "1.0", COMMAS, False, "pickled Booster (binary + config)"),
    ImageVersion("1.2-1", "1.2", COMMAS, False, "pickled Booster (binary + config)"),
    ImageVersion("1.2-2", "1.2", LINES, True, "pickled Booster (binary + config)"),
    ImageVersion("1.3-1", "1.3", LINES, True, "legacy binary"),
    ImageVersion("1.5-1", "1.5", LINES, True, "legacy binary"),
    ImageVersion("1.7-1", "1.7", LINES, True, "legacy binary"),
    ImageVersion("3.0", "3.0", LINES, True, "UBJSON"),
)
BY_TAG = {v.tag: v for v in VERSIONS}
DEFAULT = BY_TAG["1.7-1"]
LEGACY = BY_TAG["0.72"]

# Hyperparameters not every version accepts: the first and the last version that does.
FIRST_ACCEPTED = {
    "num_parallel_tree": "0.90-2",
    "monotone_constraints": "1.0-1",
    "interaction_constraints": "1.0-1",
    "save_model_on_termination": "1.0-1",
    "aft_loss_distribution": "1.2-1",
    "aft_loss_distribution_scale": "1.2-1",
    "single_precision_histogram": "1.2-1",
    "deterministic_histogram": "1.2-1",
    "_kfold": "1.2-2",
    "_num_cv_round": "1.2-2",
    "sampling_method": "1.3-1",
    "prob_buffer_row": "1.3-1",
}
LAST_ACCEPTED = {"silent": "1.0-1", "single_precision_histogram": "1.5-1"}
# Accepted by the images that still take it, and meaningless to today's xgboost: never passed on.
RETIRED = {"silent"}
_ORDER = {v.tag: i for i, v in enumerate(VERSIONS)}


def image_version(image_uri: str | None = None) -> ImageVersion:
    """The row for an image URI (this container's, from the environment, when none is given).

    ``xgboost:1`` and ``xgboost:latest`` (the legacy repository) are 0.72; ``sagemaker-xgboost:<tag>``
    is the tag's version; anything else, or no URI, is the default 1.7-1.
    """
    uri = os.environ.get(IMAGE_URI_ENV, "") if image_uri is None else image_uri
    repository = uri.strip().split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
    if repository == "xgboost" and image_tag(uri) in ("", "1", "latest"):
        return LEGACY
    version = tag_framework_version(uri) or ""
    if version in BY_TAG:
        return BY_TAG[version]
    if version.startswith("3.0"):
        return BY_TAG["3.0"]
    return DEFAULT


def accepts(version: ImageVersion, name: str) -> bool:
    """Whether the image version's hyperparameter validation knows ``name``."""
    at = _ORDER[version.tag]
    first, last = FIRST_ACCEPTED.get(name), LAST_ACCEPTED.get(name)
    return (first is None or _ORDER[first] <= at) and (last is None or at <= _ORDER[last])
