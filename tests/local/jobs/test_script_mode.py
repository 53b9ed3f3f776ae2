"""Script mode through the SDK: ``SKLearn(entry_point=..., source_dir=...).fit(...)`` on the local service.

The contract is the training toolkit's (aws/sagemaker-training-toolkit, src/sagemaker_training):
arguments from ``mapping.to_cmd_args``, ``SM_*`` variables from ``Environment.to_env_vars``, a failing
script as ``errors.ExecuteUserScriptError`` in ``output/failure`` (shown as ``AlgorithmError: ...``).
"""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
import uuid
from pathlib import Path

import pytest
from sagemaker.exceptions import UnexpectedStatusException

from tests.service_helpers import wait_for

TRAIN_SCRIPT = """
import argparse, json, os, sys

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

parser = argparse.ArgumentParser()
parser.add_argument("-C", type=float, default=1.0)  # one letter: "-C", as to_cmd_args gives it
parser.add_argument("--tag", default="")
parser.add_argument("--layers", default="")
args = parser.parse_args()

data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",")
model = LogisticRegression(C=args.C).fit(data[:, 1:], data[:, 0])
joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
print(f"accuracy={model.score(data[:, 1:], data[:, 0]):.4f}")

seen = {
    "argv": sys.argv[1:],
    "cwd": os.getcwd(),
    "path0": sys.path[0],
    "env": {k: v for k, v in os.environ.items() if k.startswith("SM_")},
}
with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "seen.json"), "w") as f:
    json.dump(seen, f)
"""


def _source_dir(tmp_path: Path, files: dict[str, str]) -> str:
    folder = tmp_path / f"src-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return str(folder)


@pytest.fixture(scope="module")
def train_uri(s3, bucket) -> str:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(float)
    body = "\n".join(",".join(f"{v:.5f}" for v in row) for row in np.column_stack([y, x]))
    s3.put_object(Bucket=bucket, Key="script-mode/train/train.csv", Body=body.encode())
    return f"s3://{bucket}/script-mode/train/"


def _estimator(source_dir: str, bucket: str, entry_point: str = "train.py", **kwargs):
    from sagemaker.sklearn import SKLearn

    import helpers

    session, role = helpers.connect("local")
    return SKLearn(
        entry_point=entry_point,
        source_dir=source_dir,
        framework_version="1.2-1",
        role=role,
        instance_type="ml.m5.large",
        output_path=f"s3://{bucket}/script-mode/output",
        sagemaker_session=session,
        **kwargs,
    )


def _tar_members(s3, uri: str) -> dict[str, bytes]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_sklearn_script_trains_with_the_toolkit_arguments_and_environment(
    service, s3, bucket, train_uri, tmp_path
):
    estimator = _estimator(
        _source_dir(tmp_path, {"train.py": TRAIN_SCRIPT}),
        bucket,
        hyperparameters={"C": 0.5, "tag": "first run", "layers": [1, 2]},
        metric_definitions=[{"Name": "train:accuracy", "Regex": "accuracy=([0-9.]+)"}],
    )
    estimator.fit({"train": train_uri}, logs=False)

    job = estimator.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["FinalMetricDataList"][0]["MetricName"] == "train:accuracy"
    assert "model.joblib" in _tar_members(s3, estimator.model_data)

    output = estimator.model_data.replace("model.tar.gz", "output.tar.gz")
    seen = json.loads(_tar_members(s3, output)["seen.json"])
    # mapping.to_cmd_args: sorted names, values JSON-decoded then str() (a list as Python prints it).
    assert seen["argv"] == ["-C", "0.5", "--layers", "[1, 2]", "--tag", "first run"]
    assert Path(seen["cwd"]).name == "code" and seen["path0"] == seen["cwd"]
    env = seen["env"]
    root = Path(env["SM_MODEL_DIR"]).parent
    assert env["SM_CHANNELS"] == '["train"]'
    assert env["SM_CHANNEL_TRAIN"] == str(root / "input" / "data" / "train")
    assert json.loads(env["SM_HPS"]) == {"C": 0.5, "layers": [1, 2], "tag": "first run"}
    assert env["SM_HP_C"] == "0.5" and env["SM_HP_TAG"] == "first run" and env["SM_HP_LAYERS"] == "[1,2]"
    assert env["SM_OUTPUT_DATA_DIR"] == str(root / "output" / "data")
    assert env["SM_INPUT_CONFIG_DIR"] == str(root / "input" / "config")
    assert env["SM_USER_ENTRY_POINT"] == "train.py" and env["SM_MODULE_NAME"] == "train"
    assert env["SM_MODULE_DIR"].startswith("s3://") and env["SM_MODULE_DIR"].endswith("sourcedir.tar.gz")
    assert env["SM_HOSTS"] == '["algo-1"]' and env["SM_CURRENT_HOST"] == "algo-1"
    assert json.loads(env["SM_RESOURCE_CONFIG"])["current_instance_type"] == "ml.m5.large"
    assert json.loads(env["SM_USER_ARGS"]) == seen["argv"]
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["hyperparameters"]["tag"] == "first run"
    assert training_env["job_name"] == job["TrainingJobName"]


def test_a_failing_script_fails_the_job_with_the_toolkit_error(service, bucket, train_uri, tmp_path):
    script = """
    import sys
    print("starting", flush=True)
    raise ValueError("the train channel has no label column")
    """
    estimator = _estimator(_source_dir(tmp_path, {"train.py": script}), bucket)
    with pytest.raises(UnexpectedStatusException):
        estimator.fit({"train": train_uri}, logs=False)
    reason = estimator.latest_training_job.describe()["FailureReason"]
    assert reason.startswith('AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage "')
    assert "ValueError: the train channel has no label column" in reason
    assert 'Command "' in reason and "train.py" in reason


def test_a_shell_entry_point_exit_code_and_its_own_failure_file(service, bucket, train_uri, tmp_path):
    script = """
    echo "why it failed: $1 $2" > "$SM_OUTPUT_DIR/failure"
    exit 3
    """
    estimator = _estimator(
        _source_dir(tmp_path, {"train.sh": script}), bucket, entry_point="train.sh", hyperparameters={"n": 4}
    )
    with pytest.raises(UnexpectedStatusException):
        estimator.fit({"train": train_uri}, logs=False)
    assert estimator.latest_training_job.describe()["FailureReason"] == "AlgorithmError: why it failed: -n 4"


def _script_job(sm, bucket: str, train_uri: str, hyperparameters: dict[str, str]) -> dict:
    """A job of the scikit-learn image created as the SDK creates it, run to its end."""
    import sagemaker

    import helpers

    session, role = helpers.connect("local")
    name = f"script-mode-{uuid.uuid4().hex[:8]}"
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={
            "TrainingImage": sagemaker.image_uris.retrieve("sklearn", session.boto_region_name, "1.2-1"),
            "TrainingInputMode": "File",
        },
        RoleArn=role,
        HyperParameters=hyperparameters,
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": train_uri}},
            }
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/script-mode/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    return wait_for(lambda: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus")


def test_a_missing_entry_point_is_a_client_error_naming_it(service, sm, s3, bucket, train_uri):
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        script = TRAIN_SCRIPT.encode()
        info = tarfile.TarInfo("train.py")
        info.size = len(script)
        tar.addfile(info, io.BytesIO(script))
    s3.put_object(Bucket=bucket, Key="script-mode/code/sourcedir.tar.gz", Body=archive.getvalue())
    uri = f"s3://{bucket}/script-mode/code/sourcedir.tar.gz"
    job = _script_job(
        sm,
        bucket,
        train_uri,
        {"sagemaker_program": '"missing.py"', "sagemaker_submit_directory": json.dumps(uri)},
    )
    assert job["TrainingJobStatus"] == "Failed"
    reason = job["FailureReason"]
    assert reason.startswith("ClientError: The entry point 'missing.py' was not found in " + uri)
    assert "train.py" in reason  # what the source directory does have


def test_a_missing_source_archive_is_a_client_error_naming_the_uri(service, sm, bucket, train_uri):
    uri = f"s3://{bucket}/script-mode/nowhere/sourcedir.tar.gz"
    job = _script_job(
        sm,
        bucket,
        train_uri,
        {"sagemaker_program": '"train.py"', "sagemaker_submit_directory": json.dumps(uri)},
    )
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError:") and uri in job["FailureReason"]
