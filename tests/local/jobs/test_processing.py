"""Processing jobs through the SDK and boto3 on the local service.

Followed: the SageMaker developer guide on processing containers (the command is
``ContainerEntrypoint`` + ``ContainerArguments``; inputs under ``/opt/ml/processing``; outputs
uploaded from their LocalPath after exit 0; ``/opt/ml/output/message`` as ExitMessage), the API
reference of CreateProcessingJob/DescribeProcessingJob, and what sagemaker 2.257.7's
``sagemaker/processing.py`` sends (ScriptProcessor's ``code`` input, FrameworkProcessor's runproc.sh).
"""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from helpers.local.core.config import ROLE_ARN
from tests.service_helpers import XGBOOST_IMAGE, unique, wait_for, wait_until

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"

# The public examples' style: container paths hard-coded in the script's own Python code.
PREPROCESS = """
import argparse, json, os, sys
from pathlib import Path

import pandas as pd

parser = argparse.ArgumentParser()
parser.add_argument("--train-fraction", type=float, default=0.5)
args = parser.parse_args()

frame = pd.read_csv("/opt/ml/processing/input/raw.csv")
cut = int(len(frame) * args.train_fraction)
os.makedirs("/opt/ml/processing/train", exist_ok=True)
frame[:cut].to_csv("/opt/ml/processing/train/train.csv", index=False)
Path("/opt/ml/processing/test").mkdir(parents=True, exist_ok=True)
frame[cut:].to_csv(os.path.join("/opt/ml/processing/test", "test.csv"), index=False)
with open("/opt/ml/processing/train/seen.json", "w") as f:
    json.dump({"argv": sys.argv[1:], "env": os.environ.get("STAGE"),
               "listing": sorted(os.listdir("/opt/ml/processing/input"))}, f)
print("rows", len(frame))
"""
RAW_CSV = "a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(10))


@pytest.fixture(scope="module")
def raw_uri(s3, bucket) -> str:
    s3.put_object(Bucket=bucket, Key="processing/raw/raw.csv", Body=RAW_CSV.encode())
    return f"s3://{bucket}/processing/raw/raw.csv"


def _session():
    import helpers

    return helpers.connect("local")


def _outputs(prefix: str):
    from sagemaker.processing import ProcessingOutput

    return [
        ProcessingOutput(
            source="/opt/ml/processing/train", destination=f"{prefix}/train", output_name="train"
        ),
        ProcessingOutput(source="/opt/ml/processing/test", destination=f"{prefix}/test", output_name="test"),
    ]


def _read(s3, uri: str) -> str:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def _check_split(s3, prefix: str) -> dict:
    train = _read(s3, f"{prefix}/train/train.csv").splitlines()
    test = _read(s3, f"{prefix}/test/test.csv").splitlines()
    assert train[0] == test[0] == "a,b"
    assert len(train) - 1 + len(test) - 1 == 10
    return json.loads(_read(s3, f"{prefix}/train/seen.json"))


def _script(tmp_path: Path, name: str, text: str) -> str:
    folder = tmp_path / f"code-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    (folder / name).write_text(textwrap.dedent(text))
    return str(folder / name)


def test_sklearn_processor_runs_a_script_that_hard_codes_opt_ml(
    service, s3, bucket, raw_uri, tmp_path, capsys
):
    from sagemaker.processing import ProcessingInput
    from sagemaker.sklearn.processing import SKLearnProcessor

    session, role = _session()
    processor = SKLearnProcessor(
        framework_version="1.2-1",
        role=role,
        instance_type="ml.m5.large",
        instance_count=1,
        env={"STAGE": "split"},
        sagemaker_session=session,
    )
    prefix = f"s3://{bucket}/processing/{unique('sk')}"
    processor.run(
        code=_script(tmp_path, "preprocess.py", PREPROCESS),
        inputs=[ProcessingInput(source=raw_uri, destination="/opt/ml/processing/input")],
        outputs=_outputs(prefix),
        arguments=["--train-fraction", "0.7"],
        logs=True,
    )
    assert "rows 10" in capsys.readouterr().out  # wait(logs=True) printed the job's CloudWatch log
    job = processor.jobs[-1].describe()
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["ProcessingEndTime"] >= job["ProcessingStartTime"]
    code_input = next(i for i in job["ProcessingInputs"] if i["InputName"] == "code")
    assert code_input["S3Input"]["S3InputMode"] == "File"
    assert code_input["S3Input"]["S3DataDistributionType"] == "FullyReplicated"
    assert job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3UploadMode"] == "EndOfJob"
    assert job["AppSpecification"]["ContainerEntrypoint"][-1].endswith("preprocess.py")
    seen = _check_split(s3, prefix)
    assert seen == {"argv": ["--train-fraction", "0.7"], "env": "split", "listing": ["code", "raw.csv"]}
    assert len(_read(s3, f"{prefix}/train/train.csv").splitlines()) == 8  # 7 rows + header


def test_script_processor_runs_on_the_xgboost_image(service, s3, bucket, raw_uri, tmp_path):
    from sagemaker.processing import ProcessingInput, ScriptProcessor

    session, role = _session()
    processor = ScriptProcessor(
        command=["python3"],
        image_uri=XGBOOST_IMAGE,
        role=role,
        instance_type="ml.m5.large",
        instance_count=1,
        sagemaker_session=session,
    )
    prefix = f"s3://{bucket}/processing/{unique('xgb')}"
    processor.run(
        code=_script(tmp_path, "preprocess.py", PREPROCESS),
        inputs=[ProcessingInput(source=raw_uri, destination="/opt/ml/processing/input")],
        outputs=_outputs(prefix),
        logs=False,
    )
    assert processor.jobs[-1].describe()["ProcessingJobStatus"] == "Completed"
    assert _check_split(s3, prefix)["argv"] == []


def test_framework_processor_runs_runproc_sh_with_the_source_dir(service, s3, bucket, raw_uri, tmp_path):
    from sagemaker.processing import FrameworkProcessor, ProcessingInput
    from sagemaker.sklearn import SKLearn

    session, role = _session()
    source = tmp_path / f"src-{uuid.uuid4().hex[:6]}"
    source.mkdir()
    (source / "preprocess.py").write_text(
        "from helper_module import split\nsplit()\n"
    )  # a second module of source_dir, imported from the script's folder
    (source / "helper_module.py").write_text(
        "def split():\n" + textwrap.indent(textwrap.dedent(PREPROCESS), "    ")
    )
    processor = FrameworkProcessor(
        estimator_cls=SKLearn,
        framework_version="1.2-1",
        role=role,
        instance_type="ml.m5.large",
        instance_count=1,
        sagemaker_session=session,
    )
    prefix = f"s3://{bucket}/processing/{unique('fw')}"
    processor.run(
        code="preprocess.py",
        source_dir=str(source),
        inputs=[ProcessingInput(source=raw_uri, destination="/opt/ml/processing/input")],
        outputs=_outputs(prefix),
        logs=False,
    )
    job = processor.jobs[-1].describe()
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["AppSpecification"]["ContainerEntrypoint"][-1].endswith("runproc.sh")
    _check_split(s3, prefix)


def _request(name: str, bucket: str, code_uri: str, **overrides) -> dict:
    request = {
        "ProcessingJobName": name,
        "RoleArn": ROLE_ARN,
        "AppSpecification": {
            "ImageUri": SKLEARN_IMAGE,
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/job.py"],
        },
        "ProcessingInputs": [
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": code_uri,
                    "LocalPath": "/opt/ml/processing/input/code",
                    "S3DataType": "S3Prefix",
                },
            },
        ],
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}
        },
    }
    request.update(overrides)
    return request


def _code(s3, bucket: str, text: str) -> str:
    key = f"processing/code/{uuid.uuid4().hex[:8]}/job.py"
    s3.put_object(Bucket=bucket, Key=key, Body=textwrap.dedent(text).encode())
    return f"s3://{bucket}/{key}"


def test_a_failing_script_fails_the_job_with_aws_reason_and_exit_message(service, sm, s3, bucket):
    code = _code(
        s3,
        bucket,
        """
        with open("/opt/ml/output/message", "w") as f:
            f.write("bad input rows")
        raise SystemExit(3)
    """,
    )
    name = unique("fail")
    sm.create_processing_job(**_request(name, bucket, code))
    job = wait_for(lambda: sm.describe_processing_job(ProcessingJobName=name), "ProcessingJobStatus")
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"] == "AlgorithmError: See job logs for more information"
    assert job["ExitMessage"] == "bad input rows"


def test_a_missing_opt_ml_file_gets_a_reason_that_says_what_to_do(service, sm, s3, bucket):
    code = _code(s3, bucket, 'open("/opt/ml/processing/nowhere/data.csv").read()\n')
    name = unique("missing")
    sm.create_processing_job(**_request(name, bucket, code))
    job = wait_for(lambda: sm.describe_processing_job(ProcessingJobName=name), "ProcessingJobStatus")
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("AlgorithmError: See job logs")
    assert "LocalPath" in job["FailureReason"] and "/opt/ml" in job["FailureReason"]


def test_stop_and_max_runtime_end_a_running_job(service, boto, sm, s3, bucket):
    code = _code(s3, bucket, 'import time\nprint("sleeping", flush=True)\ntime.sleep(60)\n')
    name = unique("stop")
    sm.create_processing_job(**_request(name, bucket, code))
    logs = boto.client("logs")
    wait_until(
        lambda: any(
            "sleeping" in e["message"]
            for s in logs.describe_log_streams(
                logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix=name
            )["logStreams"]
            for e in logs.get_log_events(
                logGroupName="/aws/sagemaker/ProcessingJobs", logStreamName=s["logStreamName"]
            )["events"]
        ),
        "the script printed",
    )
    sm.stop_processing_job(ProcessingJobName=name)
    job = wait_for(lambda: sm.describe_processing_job(ProcessingJobName=name), "ProcessingJobStatus")
    assert job["ProcessingJobStatus"] == "Stopped"
    with pytest.raises(ClientError, match="only an InProgress job"):
        sm.stop_processing_job(ProcessingJobName=name)

    limited = unique("limit")
    sm.create_processing_job(**_request(limited, bucket, code, StoppingCondition={"MaxRuntimeInSeconds": 1}))
    job = wait_for(lambda: sm.describe_processing_job(ProcessingJobName=limited), "ProcessingJobStatus")
    assert job["ProcessingJobStatus"] == "Stopped"
    assert "MaxRuntimeInSeconds" in job["ExitMessage"]


def test_list_filters_sorts_and_pages(service, sm, s3, bucket):
    code = _code(s3, bucket, "print('ok')\n")
    tag = uuid.uuid4().hex[:6]
    names = [f"listed-{tag}-{i}" for i in range(3)]
    for name in names:
        sm.create_processing_job(**_request(name, bucket, code, Tags=[{"Key": "team", "Value": "course"}]))
    for name in names:
        wait_for(lambda n=name: sm.describe_processing_job(ProcessingJobName=n), "ProcessingJobStatus")
    first = sm.list_processing_jobs(NameContains=tag, MaxResults=2, SortBy="Name", SortOrder="Ascending")
    assert [s["ProcessingJobName"] for s in first["ProcessingJobSummaries"]] == names[:2]
    rest = sm.list_processing_jobs(
        NameContains=tag, MaxResults=2, SortBy="Name", SortOrder="Ascending", NextToken=first["NextToken"]
    )
    assert [s["ProcessingJobName"] for s in rest["ProcessingJobSummaries"]] == names[2:]
    assert "NextToken" not in rest
    completed = sm.list_processing_jobs(NameContains=tag, StatusEquals="Completed")["ProcessingJobSummaries"]
    assert len(completed) == 3 and all(s["ProcessingJobStatus"] == "Completed" for s in completed)
    assert sm.list_processing_jobs(NameContains=tag, StatusEquals="Failed")["ProcessingJobSummaries"] == []
    arn = sm.describe_processing_job(ProcessingJobName=names[0])["ProcessingJobArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "course"}]


def test_requests_are_validated_as_aws_does(service, sm, s3, bucket):
    code = _code(s3, bucket, "print('ok')\n")
    name = unique("valid")
    sm.create_processing_job(**_request(name, bucket, code))
    with pytest.raises(ClientError) as duplicate:
        sm.create_processing_job(**_request(name, bucket, code))
    assert duplicate.value.response["Error"]["Code"] == "ResourceInUse"
    with pytest.raises(ClientError) as missing:
        sm.describe_processing_job(ProcessingJobName="no-such-job")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"

    def refused(**overrides) -> str:
        with pytest.raises(ClientError) as error:
            sm.create_processing_job(**_request(unique("bad"), bucket, code, **overrides))
        assert error.value.response["Error"]["Code"] == "ValidationException"
        return error.value.response["Error"]["Message"]

    outside = [
        {"InputName": "x", "S3Input": {"S3Uri": code, "LocalPath": "/tmp/x", "S3DataType": "S3Prefix"}}
    ]
    assert "/opt/ml/processing" in refused(ProcessingInputs=outside)
    climbing = [
        {
            "InputName": "x",
            "S3Input": {"S3Uri": code, "LocalPath": "/opt/ml/processing/../../etc", "S3DataType": "S3Prefix"},
        }
    ]
    refused(ProcessingInputs=climbing)
    bad_uri = [
        {
            "InputName": "x",
            "S3Input": {
                "S3Uri": "http://bucket/key",
                "LocalPath": "/opt/ml/processing/x",
                "S3DataType": "S3Prefix",
            },
        }
    ]
    refused(ProcessingInputs=bad_uri)
    twice = [
        {
            "OutputName": "o",
            "S3Output": {
                "S3Uri": f"s3://{bucket}/o",
                "LocalPath": "/opt/ml/processing/o",
                "S3UploadMode": "EndOfJob",
            },
        },
        {
            "OutputName": "o",
            "S3Output": {
                "S3Uri": f"s3://{bucket}/p",
                "LocalPath": "/opt/ml/processing/p",
                "S3UploadMode": "EndOfJob",
            },
        },
    ]
    assert "unique" in refused(ProcessingOutputConfig={"Outputs": twice})
    no_path = [{"InputName": "x", "S3Input": {"S3Uri": code, "S3DataType": "S3Prefix"}}]
    assert "LocalPath is required" in refused(ProcessingInputs=no_path)


def test_manifest_inputs_and_a_missing_entrypoint(service, sm, s3, bucket):
    tag = uuid.uuid4().hex[:6]
    for key in ("a.csv", "deep/b.csv", "skipped.csv"):
        s3.put_object(Bucket=bucket, Key=f"processing/{tag}/{key}", Body=key.encode())
    manifest = json.dumps([{"prefix": f"s3://{bucket}/processing/{tag}/"}, "a.csv", "deep/b.csv"])
    s3.put_object(Bucket=bucket, Key=f"processing/{tag}.manifest", Body=manifest.encode())
    code = _code(
        s3,
        bucket,
        """
        import os
        files = sorted(os.path.relpath(os.path.join(d, f), "/opt/ml/processing/listed")
                       for d, _, fs in os.walk("/opt/ml/processing/listed") for f in fs)
        assert files == ["a.csv", "deep/b.csv"], files
    """,
    )
    listed = {
        "InputName": "listed",
        "S3Input": {
            "S3Uri": f"s3://{bucket}/processing/{tag}.manifest",
            "LocalPath": "/opt/ml/processing/listed",
            "S3DataType": "ManifestFile",
        },
    }
    name = unique("manifest")
    request = _request(name, bucket, code)
    request["ProcessingInputs"].append(listed)
    sm.create_processing_job(**request)
    job = wait_for(lambda: sm.describe_processing_job(ProcessingJobName=name), "ProcessingJobStatus")
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")

    name = unique("no-entrypoint")
    sm.create_processing_job(**_request(name, bucket, code, AppSpecification={"ImageUri": SKLEARN_IMAGE}))
    job = wait_for(lambda: sm.describe_processing_job(ProcessingJobName=name), "ProcessingJobStatus")
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError:") and "ContainerEntrypoint" in job["FailureReason"]


def test_a_job_running_when_the_service_stops_is_failed_and_leaves_no_process(tmp_path):
    import boto3

    from helpers.local import control
    from helpers.local.core.config import client_environment, load_config
    from tests.conftest import free_port
    from tests.service_helpers import processes_in

    config = load_config(free_port(), tmp_path / "state")
    control.start(config)
    try:
        env = client_environment(config)
        session = boto3.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=config.region,
        )
        sm, s3 = (session.client(name, endpoint_url=config.url) for name in ("sagemaker", "s3"))
        s3.create_bucket(Bucket="interrupted")
        code = _code(s3, "interrupted", "import time\ntime.sleep(600)\n")
        sm.create_processing_job(**_request("long-job", "interrupted", code))
        wait_until(lambda: processes_in(config.state_dir) != [], "the container runs")
        assert control.stop(config)
        assert processes_in(config.state_dir) == []
        control.start(config)
        sm = session.client("sagemaker", endpoint_url=config.url)
        job = sm.describe_processing_job(ProcessingJobName="long-job")
        assert job["ProcessingJobStatus"] == "Failed"
        assert "the local service stopped while the job was running" in job["FailureReason"]
        assert job["ProcessingEndTime"] >= job["CreationTime"]
    finally:
        control.stop(config)


def test_an_input_with_no_objects_fails_the_job_as_a_client_error(service, sm, s3, bucket):
    code = _code(s3, bucket, "print('never runs')\n")
    empty = {
        "InputName": "data",
        "S3Input": {
            "S3Uri": f"s3://{bucket}/processing/nothing-{uuid.uuid4().hex[:6]}/",
            "LocalPath": "/opt/ml/processing/data",
            "S3DataType": "S3Prefix",
        },
    }
    name = unique("empty")
    request = _request(name, bucket, code)
    request["ProcessingInputs"].append(empty)
    sm.create_processing_job(**request)
    job = wait_for(lambda: sm.describe_processing_job(ProcessingJobName=name), "ProcessingJobStatus")
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: No S3 objects found under S3 URL")
    assert "'data'" in job["FailureReason"]
