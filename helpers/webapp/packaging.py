"""Build the zip file AWS Lambda runs: the handler, the vocabulary and the libraries it imports.

Lambda's Python runtime has the standard library and boto3, nothing else. The handler also
needs NLTK (the Porter stemmer used at training time) and BeautifulSoup (for reviews with
HTML), so the package carries them, installed for Lambda's platform rather than this
machine's: ``pip install --target ... --platform manylinux2014_x86_64 --only-binary=:all:``
(NLTK depends on ``regex``, which has compiled code). The versions are the ones installed
here, so the function stems words exactly as the training data was stemmed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from helpers.webapp import lambda_function

RUNTIME = "python3.12"  # the Lambda runtime the package is built for
HANDLER = "lambda_function.lambda_handler"
PLATFORM = "manylinux2014_x86_64"  # Lambda's default architecture, x86_64
DEPENDENCIES = ("nltk", "beautifulsoup4")
VOCABULARY_NAME = "vocabulary.json"


def dependency_pins() -> list[str]:
    """``name==version`` for each library the handler imports, as installed here."""
    return [f"{name}=={metadata.version(name)}" for name in DEPENDENCIES]


def build_lambda_package(
    folder: str | Path,
    vocabulary: Mapping[str, int],
    *,
    dependencies: bool = True,
    runtime: str = RUNTIME,
) -> Path:
    """Write ``<folder>/lambda_package.zip`` and return its path.

    ``dependencies=False`` leaves the libraries out (for a quick look at the layout, or for
    a Lambda layer that provides them); installing them needs access to PyPI.
    """
    folder = Path(folder)
    staging = folder / "lambda_package"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)

    shutil.copy(lambda_function.__file__, staging / "lambda_function.py")
    (staging / VOCABULARY_NAME).write_text(json.dumps(dict(vocabulary), sort_keys=True))
    if dependencies:
        python_version = runtime.removeprefix("python")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(staging),
                "--platform",
                PLATFORM,
                "--implementation",
                "cp",
                "--python-version",
                python_version,
                "--only-binary=:all:",
                *dependency_pins(),
            ],  # fmt: skip
            check=True,
        )

    archive = folder / "lambda_package.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(staging.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, path.relative_to(staging).as_posix())
    shutil.rmtree(staging)
    return archive
