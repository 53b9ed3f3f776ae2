"""The SDK's ``ModelTrainer`` (sagemaker.modules, the SDK v3 trainer) and a job's own container command.

What ModelTrainer sends (sagemaker/modules/train/model_trainer.py, modules/constants.py and
modules/templates.py): ``ContainerEntrypoint ["/bin/bash"]`` with ``ContainerArguments ["-c", "chmod +x
/opt/ml/input/data/sm_drivers/sm_train.sh && /opt/ml/input/data/sm_drivers/sm_train.sh"]``, the source
directory as channel ``code`` and its driver scripts (container_drivers/) as channel ``sm_drivers``;
those scripts set the ``SM_*`` variables themselves and, on a failing script, write the driver's
traceback to ``/opt/ml/output/failure`` (common/utils.py ``write_failure_file``).
"""

from __future__ import annotations

import io
import tarfile
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.service_helpers import wait_for

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"

TRAIN_SCRIPT = """
import argparse, os

import joblib
import numpy as np
from sklearn.linear_model import Ridge

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float, default=1.0)
args = parser.parse_args()

data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",")
model = Ridge(alpha=args.alpha).fit(data[:, 1:], data[:, 0])
joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
print(f"alpha={args.alpha} r2={model.score(data[:, 1:], data[:, 0]):.4f} cwd={os.getcwd()}")
"""


@pytest.fixture(scope="module")
def train_uri(s3, bucket) -> str:
    import numpy as np

    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 2))
    y = 3 * x[:, 0] - x[:, 1]
    body = "\n".join(",".join(f"{v:.5f}" for v in row) for row in np.column_stack([y, x]))
    s3.put_object(Bucket=bucket, Key="model-trainer/train/train.csv", Body=body.encode())
    return f"s3://{bucket}/model-trainer/train/"


def _source_dir(tmp_path: Path, files: dict[str, str]) -> str:
    folder = tmp_path / f"src-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return str(folder)


def _trainer(source_dir: str, bucket: str, **source):
    from sagemaker.modules.configs import Compute, OutputDataConfig, SourceCode
    from sagemaker.modules.train import ModelTrainer

    import helpers

    session, role = helpers.connect("local")
    return ModelTrainer(
        training_image=SKLEARN_IMAGE,
        source_code=SourceCode(source_dir=source_dir, entry_script="train.py", **source),
        compute=Compute(instance_type="ml.m5.large", instance_count=1),
        hyperparameters={"alpha": 0.5},
        output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/model-trainer/output"),
        base_job_name="model-trainer",
        sagemaker_session=helpers.trainer_session(session),
        role=role,
    )


def _log_text(boto, job_name: str) -> str:
    logs = boto.client("logs")
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=job_name
    )["logStreams"]
    events = []
    for stream in streams:
        events += logs.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream["logStreamName"]
        )["events"]
    return "\n".join(e["message"] for e in events)


def test_model_trainer_runs_the_script_through_the_sdks_drivers(
    service, boto, s3, bucket, train_uri, tmp_path
):
    from sagemaker.modules.configs import InputData

    trainer = _trainer(_source_dir(tmp_path, {"train.py": TRAIN_SCRIPT}), bucket)
    trainer.train(input_data_config=[InputData(channel_name="train", data_source=train_uri)], logs=False)

    job = trainer._latest_training_job
    desc = boto.client("sagemaker").describe_training_job(TrainingJobName=job.training_job_name)
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    assert desc["AlgorithmSpecification"]["ContainerEntrypoint"] == ["/bin/bash"]
    artifact = desc["ModelArtifacts"]["S3ModelArtifacts"]
    bucket_name, key = artifact.removeprefix("s3://").split("/", 1)
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket_name, Key=key)["Body"].read())) as tar:
        assert "model.joblib" in tar.getnames()
    text = _log_text(boto, job.training_job_name)
    assert "Starting training script" in text and "Training Container Execution Completed" in text
    assert "alpha=0.5 r2=" in text
    assert "/input/data/code" in text.split("cwd=")[1].split("\n")[0]


def test_a_failing_script_fails_the_job_with_the_drivers_reason(service, boto, bucket, train_uri, tmp_path):
    from sagemaker.modules.configs import InputData
    from sagemaker_core.main.exceptions import FailedStatusError

    script = "raise ValueError('no label column in the train channel')\n"
    trainer = _trainer(_source_dir(tmp_path, {"train.py": script}), bucket)
    with pytest.raises(FailedStatusError):
        trainer.train(input_data_config=[InputData(channel_name="train", data_source=train_uri)], logs=False)

    name = trainer._latest_training_job.training_job_name
    reason = boto.client("sagemaker").describe_training_job(TrainingJobName=name)["FailureReason"]
    # basic_script_driver.py writes the CalledProcessError traceback of `python train.py --alpha 0.5`.
    assert reason.startswith("AlgorithmError: ") and "CalledProcessError" in reason
    assert "train.py" in reason and "returned non-zero exit status 1" in reason
    assert "ValueError: no label column in the train channel" in _log_text(boto, name)


def test_boto3_container_entrypoint_replaces_the_images_train(service, boto, s3, bucket, train_uri):
    """CreateTrainingJob with ContainerEntrypoint/ContainerArguments runs that command, /opt/ml mapped."""
    sm = boto.client("sagemaker")
    name = f"own-command-{uuid.uuid4().hex[:8]}"
    command = (
        "ls /opt/ml/input/data/train/train.csv && echo saved > /opt/ml/model/from-command.txt "
        '&& python3 -c "import sklearn; print(\'python\', sklearn.__name__)" && echo "args: $0 $1"'
    )
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={
            "TrainingImage": SKLEARN_IMAGE,
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["/bin/sh", "-c"],
            "ContainerArguments": [command, "first", "second"],
        },
        RoleArn="arn:aws:iam::123456789012:role/service-role/SageMakerCourseExecutionRole",
        InputDataConfig=[
            {
                "ChannelName": "train",
                # A folder named without its trailing "/": its files land in the channel itself.
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": train_uri.rstrip("/")}},
            }
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/model-trainer/own-command"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    job = wait_for(lambda: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["AlgorithmSpecification"]["ContainerArguments"][1:] == ["first", "second"]
    key = job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix(f"s3://{bucket}/")
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        assert tar.extractfile("from-command.txt").read() == b"saved\n"
    text = _log_text(boto, name)
    assert "train.csv" in text and "python sklearn" in text and "args: first second" in text

    # A command that fails without writing output/failure: its exit code and last lines.
    name = f"own-command-{uuid.uuid4().hex[:8]}"
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={
            "TrainingImage": SKLEARN_IMAGE,
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["/bin/sh", "-c", "echo 'no model today' >&2; exit 4"],
        },
        RoleArn="arn:aws:iam::123456789012:role/service-role/SageMakerCourseExecutionRole",
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/model-trainer/own-command"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    job = wait_for(lambda: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus")
    assert job["TrainingJobStatus"] == "Failed"
    assert "exited with code 4" in job["FailureReason"] and "no model today" in job["FailureReason"]
