"""``requirements.txt`` beside a script: installed only when something in it is missing.

The toolkits pip-install it before the script (aws/sagemaker-training-toolkit
``modules.install_requirements``) and at model server start (aws/sagemaker-inference-toolkit
``model_server._install_requirements``). The service passes pip no index, so these files carry
``--no-index --find-links`` to a wheel built here: the tests stay offline and fast.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from helpers.local.core.config import ROLE_ARN
from tests.local.images.conftest import http_call, invoke, model_server
from tests.service_helpers import csv_channel, regression_csv, unique, wait_training

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
PACKAGE = "tinydep_local"

SCRIPT = """
import importlib.util, os

spec = importlib.util.find_spec("tinydep_local")
if spec is None:
    print("tinydep_local absent")
else:
    import tinydep_local
    print(f"tinydep_local={tinydep_local.VALUE} from {tinydep_local.__file__}")
open(os.path.join(os.environ["SM_MODEL_DIR"], "done"), "w").close()
"""


def build_wheel(folder: Path, name: str = PACKAGE, version: str = "0.1") -> Path:
    """A minimal pure-Python wheel: one module with ``VALUE = 42``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": "VALUE = 42\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{n},,\n" for n in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, text in {**files, f"{info}/RECORD": record}.items():
            wheel.writestr(member, text)
    return path


@pytest.fixture(scope="module")
def train_uri(s3, bucket) -> str:
    prefix = unique("requirements")
    s3.put_object(Bucket=bucket, Key=f"{prefix}/train/train.csv", Body=regression_csv(10).encode())
    return f"s3://{bucket}/{prefix}/train/"


def _source(tmp_path: Path, requirements: str) -> Path:
    folder = tmp_path / unique("src")
    folder.mkdir()
    (folder / "train.py").write_text(SCRIPT)
    (folder / "requirements.txt").write_text(requirements)
    return folder


def _run(sm, bucket: str, train_uri: str, source: Path) -> dict:
    name = unique("requirements-job")
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": SKLEARN_IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE_ARN,
        # The source folder on this machine, as local mode passes it (no S3 round trip).
        HyperParameters={
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": json.dumps(str(source)),
        },
        InputDataConfig=[csv_channel("train", train_uri)],
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/requirements/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 300},
    )
    return wait_training(sm, name)


def _log(boto, job: str) -> str:
    logs = boto.client("logs")
    group = "/aws/sagemaker/TrainingJobs"
    streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=job)["logStreams"]
    return "\n".join(
        e["message"]
        for s in streams
        for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])["events"]
    )


def test_satisfied_requirements_install_nothing(service, sm, boto, bucket, train_uri, tmp_path):
    job = _run(sm, bucket, train_uri, _source(tmp_path, "numpy\nscikit-learn>=1.0  # the image's own\n"))
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    log = _log(boto, job["TrainingJobName"])
    assert "requirements.txt: all requirements are already installed; nothing to install." in log
    assert "installing" not in log and "tinydep_local absent" in log


def test_a_missing_package_is_installed_for_the_script(service, sm, boto, bucket, train_uri, tmp_path):
    wheels = build_wheel(tmp_path / "wheels").parent
    requirements = f"--no-index\n--find-links {wheels}\nnumpy\n{PACKAGE}==0.1\n"
    job = _run(sm, bucket, train_uri, _source(tmp_path, requirements))
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    log = _log(boto, job["TrainingJobName"])
    # Two option lines pip reads and one missing package; numpy is installed already.
    assert f"requirements.txt: installing 3 requirement(s): --no-index, --find-links {wheels}, " in log
    line = next(line for line in log.splitlines() if line.startswith("tinydep_local=42 from "))
    # Into the job's own folder, not the project's environment.
    assert "/.packages/" in line and "/site-packages/tinydep_local/" in line
    # pip counts the environment's numpy as installed: only the missing package is added.
    assert "Successfully installed tinydep_local-0.1" in log.splitlines()
    with pytest.raises(ImportError):
        __import__(PACKAGE)


def test_an_uninstallable_package_fails_the_job_naming_it(service, sm, bucket, train_uri, tmp_path):
    job = _run(sm, bucket, train_uri, _source(tmp_path, "--no-index\nno-such-package-here==1.0\n"))
    assert job["TrainingJobStatus"] == "Failed"
    reason = job["FailureReason"]
    assert reason.startswith("ClientError: the packages in requirements.txt could not be installed")
    assert "no-such-package-here==1.0" in reason
    assert "ERROR: No matching distribution found for no-such-package-here==1.0" in reason


def test_the_model_server_installs_code_requirements_before_importing_the_script(tmp_path):
    wheels = build_wheel(tmp_path / "wheels").parent
    code = tmp_path / "ml" / "model" / "code"
    code.mkdir(parents=True)
    (code / "requirements.txt").write_text(f"--no-index\n--find-links {wheels}\n{PACKAGE}\n")
    (code / "inference.py").write_text(
        "import tinydep_local\n\n"
        "def model_fn(model_dir):\n    return None\n\n"
        "def transform_fn(model, data, content_type, accept):\n"
        "    return str(tinydep_local.VALUE), 'text/plain'\n"
    )
    root = tmp_path / "ml"
    with model_server("helpers.local.images.sklearn", root, {"SAGEMAKER_PROGRAM": "inference.py"}) as port:
        status, body, _ = invoke(port, b"1", content_type="text/plain")
        assert (status, body) == (200, b"42")
        assert http_call(port, "GET", "/ping")[0] == 200
    assert list((root / ".packages").rglob(f"site-packages/{PACKAGE}/__init__.py"))
