"""``helpers.connect()`` and the client side of the service: what a notebook's first cell does."""

from __future__ import annotations

import subprocess
import sys

import pytest

# The service's own stack and the SDK: a process that only starts, stops or points at the service
# has no use for them, and importing them costs seconds.
SERVICE_ONLY = ("moto", "flask", "a2wsgi", "uvicorn", "sagemaker", "boto3", "botocore", "numpy")


def _modules_imported(*args: str) -> set[str]:
    """Top-level packages a fresh ``python -X importtime <args>`` imports (importtime lists each one)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *args], capture_output=True, text=True, timeout=120, check=True
    )
    names = (
        line.rsplit("|", 1)[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    )
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize(
    "args",
    [["-m", "helpers.local", "env"], ["-c", "import helpers.local.control"], ["-c", "import helpers"]],
    ids=["python -m helpers.local env", "import helpers.local.control", "import helpers"],
)
def test_client_side_imports_nothing_of_the_service(service, args):
    assert not _modules_imported(*args) & set(SERVICE_ONLY)


def test_connect_returns_a_local_session_whose_clients_reach_the_service(service, s3, capsys):
    import helpers
    from helpers.connection import LocalServiceSession

    session, role = helpers.connect("local")

    assert isinstance(session, LocalServiceSession)
    assert capsys.readouterr().out == (
        f"Using the local SageMaker service at {service.url} (region {service.region}).\n"
    )
    assert role.startswith("arn:aws:iam::") and ":role/" in role
    assert session.sagemaker_client.meta.endpoint_url == service.url
    assert "TrainingJobSummaries" in session.sagemaker_client.list_training_jobs(MaxResults=1)
    # default_bucket() creates the bucket in the local S3, where another client sees it.
    bucket = session.default_bucket()
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_the_sdk_still_refuses_a_bad_config_after_connect(service):
    # connect() lets the SDK validate each distinct config once; a bad one must still fail each time.
    import sagemaker.utils
    from jsonschema.exceptions import ValidationError

    import helpers

    helpers.connect("local")
    bad = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": "maybe"}}}}
    for _ in range(2):
        with pytest.raises(ValidationError):
            sagemaker.utils.validate_sagemaker_config(bad)
    sagemaker.utils.validate_sagemaker_config({"SchemaVersion": "1.0"})  # a good one passes
