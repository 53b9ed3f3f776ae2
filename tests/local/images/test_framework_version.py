"""The framework version an image tag names, against the installed library (one log line or none)."""

from __future__ import annotations

from helpers.local.images.toolkit.framework_version import tag_framework_version, version_mismatch

SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
PYTORCH = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-cpu-py310"


def test_the_tag_names_the_framework_version():
    assert tag_framework_version(SKLEARN) == "1.2-1"
    assert tag_framework_version(XGBOOST) == "1.7-1"
    assert tag_framework_version(PYTORCH) == "2.1.0"
    assert tag_framework_version("x/sagemaker-xgboost:latest") is None
    assert tag_framework_version("x/sagemaker-xgboost@sha256:" + "0" * 64) is None


def test_a_different_installed_version_is_one_line_naming_both():
    line = version_mismatch(XGBOOST, "xgboost", "3.2.0")
    assert line == (
        "The image sagemaker-xgboost:1.7-1 is for xgboost 1.7 (framework_version 1.7-1); this local "
        "container runs xgboost 3.2.0, the version installed here."
    )


def test_a_matching_version_says_nothing():
    assert version_mismatch(SKLEARN, "scikit-learn", "1.2.2") is None
    assert version_mismatch(PYTORCH, "torch", "2.1.0+cpu") is None
    assert version_mismatch("x/sagemaker-xgboost:latest", "xgboost", "3.2.0") is None
