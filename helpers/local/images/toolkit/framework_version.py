"""The framework version an image's tag asks for, against the library a local container runs.

A framework image's tag starts with its framework version (``sagemaker-scikit-learn:1.2-1-cpu-py3``,
``sagemaker-xgboost:1.7-1``, ``pytorch-training:2.1.0-cpu-py310``); a local container runs the
library installed in the project's environment whatever the tag says. SageMaker gives a container
no variable naming its image, so the service passes the URI as ``SAGEMAKER_LOCAL_IMAGE_URI``.
"""

from __future__ import annotations

import os
import re

from packaging.version import InvalidVersion, Version

IMAGE_URI_ENV = "SAGEMAKER_LOCAL_IMAGE_URI"
# "1.2-1-cpu-py3" -> "1.2" (and its build "-1"), "2.1.0-cpu-py310" -> "2.1.0"; "latest" has none.
_TAG_VERSION = re.compile(r"^(\d+(?:\.\d+)*)(?:-\d+)?(?![.\d])")


def image_tag(image_uri: str) -> str:
    """``<registry>/<repository>:<tag>`` -> ``<tag>`` (empty for a digest or no tag)."""
    last = image_uri.strip().split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def tag_framework_version(image_uri: str) -> str | None:
    """The framework version the tag names (``1.2-1`` for ``...:1.2-1-cpu-py3``), or None."""
    match = _TAG_VERSION.match(image_tag(image_uri))
    return match.group(0) if match else None


def version_mismatch(image_uri: str, library: str, installed: str) -> str | None:
    """A log line when the tag's version of ``library`` differs from ``installed``; None when they agree.

    Versions agree on as many parts as the tag gives: tag ``1.2-1`` matches scikit-learn 1.2.2.
    """
    tagged = tag_framework_version(image_uri)
    if tagged is None:
        return None
    wanted = _TAG_VERSION.match(tagged).group(1)  # type: ignore[union-attr]
    try:
        release = Version(installed).release
    except InvalidVersion:
        return None
    parts = [int(p) for p in wanted.split(".")]
    if list(release[: len(parts)]) == parts:
        return None
    name = image_uri.strip().rsplit("/", 1)[-1]
    return (
        f"The image {name} is for {library} {wanted} (framework_version {tagged}); this local container "
        f"runs {library} {installed}, the version installed here."
    )


def log_framework_version(library: str, installed: str) -> None:
    """Print :func:`version_mismatch` for this container's image, if there is one."""
    line = version_mismatch(os.environ.get(IMAGE_URI_ENV, ""), library, installed)
    if line:
        print(line, flush=True)
