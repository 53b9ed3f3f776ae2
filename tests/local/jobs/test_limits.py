"""The limits SageMaker enforces: MaxRuntimeInSeconds, account quotas on instances, metric regexes."""

from __future__ import annotations

import json

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers.local.core.config import ROLE_ARN
from tests.local.jobs.tuning_requests import tuning_request
from tests.service_helpers import XGBOOST_IMAGE, regression_csv, training_request, unique, wait_for

QUOTA_MESSAGE = (
    "The account-level service limit '{name}' is {limit} Instances, with current utilization of {used} "
    "Instances and a request delta of {delta} Instances. Please use AWS Service Quotas to request an "
    "increase for this quota. If AWS Service Quotas is not available, contact AWS support to request an "
    "increase for this quota."
)


@pytest.fixture(scope="module")
def data(s3, bucket):
    for prefix in ("data", "tuning"):
        s3.put_object(
            Bucket=bucket, Key=f"{prefix}/train/train.csv", Body=regression_csv(3000, seed=1).encode()
        )
        s3.put_object(
            Bucket=bucket,
            Key=f"{prefix}/validation/validation.csv",
            Body=regression_csv(200, seed=2).encode(),
        )
    return bucket


@pytest.fixture
def quotas_file(service):
    """Writes ``quotas.json`` in the service's state folder for one test."""
    path = service.state_dir / "quotas.json"
    yield lambda values: path.write_text(json.dumps(values))
    path.unlink(missing_ok=True)


def long_training(name: str, bucket: str, max_runtime: int) -> dict:
    """A job that would train for minutes (many deep rounds on 3,000 rows) if nothing stopped it."""
    request = training_request(name, bucket, num_round="1000000", max_depth="8")
    request["StoppingCondition"] = {"MaxRuntimeInSeconds": max_runtime}
    return request


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


# -- MaxRuntimeInSeconds ------------------------------------------------------------------------


def test_max_runtime_stops_the_job_and_keeps_its_model_artifact(sm, s3, data):
    name = unique("max-runtime")
    sm.create_training_job(**long_training(name, data, max_runtime=2))
    desc = wait_for(lambda: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus", timeout=90)

    assert desc["TrainingJobStatus"] == "Stopped"
    assert desc["SecondaryStatus"] == "MaxRuntimeExceeded"
    transitions = desc["SecondaryStatusTransitions"]
    assert [t["Status"] for t in transitions][-3:] == ["Training", "Stopping", "MaxRuntimeExceeded"]
    assert transitions[-1]["StatusMessage"] == "Training job runtime exceeded MaxRuntimeInSeconds provided"
    assert "FailureReason" not in desc
    # The artifact location is kept and holds what the algorithm had saved when it was stopped.
    key = desc["ModelArtifacts"]["S3ModelArtifacts"].split(f"s3://{data}/", 1)[1]
    s3.head_object(Bucket=data, Key=key)


def test_a_stopped_job_whose_artifact_cannot_be_uploaded_fails_and_says_why(sm, data):
    name = unique("max-runtime-no-bucket")
    request = long_training(name, data, max_runtime=2)
    request["OutputDataConfig"]["S3OutputPath"] = "s3://no-such-bucket-for-runtime/output"
    sm.create_training_job(**request)
    desc = wait_for(lambda: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus", timeout=90)
    assert desc["TrainingJobStatus"] == "Failed"
    assert (
        desc["FailureReason"].startswith("ClientError:")
        and "no-such-bucket-for-runtime" in desc["FailureReason"]
    )


def test_a_tuning_jobs_training_jobs_get_their_max_runtime(sm, data):
    name = unique("tune-runtime")[:32]
    request = tuning_request(name, data, jobs=1, parallel=1, static={"num_round": "1000000"})
    request["TrainingJobDefinition"]["StoppingCondition"] = {"MaxRuntimeInSeconds": 2}
    sm.create_hyper_parameter_tuning_job(**request)
    wait_for(
        lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
        "HyperParameterTuningJobStatus",
        timeout=90,
    )
    [job] = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
        "TrainingJobSummaries"
    ]
    desc = sm.describe_training_job(TrainingJobName=job["TrainingJobName"])
    assert (desc["TrainingJobStatus"], desc["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")


# -- account quotas -----------------------------------------------------------------------------


def test_training_job_over_the_instance_quota_is_refused_and_not_created(sm, data):
    name = unique("too-many")
    request = training_request(name, data)
    request["ResourceConfig"].update(InstanceType="ml.c5.xlarge", InstanceCount=25)

    code, message = error_of(lambda: sm.create_training_job(**request))

    assert code == "ResourceLimitExceeded"
    expected = QUOTA_MESSAGE.format(name="ml.c5.xlarge for training job usage", limit=8, used=0, delta=25)
    assert message.startswith(expected)
    assert "quotas.json" in message  # says where to raise it locally
    assert error_of(lambda: sm.describe_training_job(TrainingJobName=name))[0] == "ValidationException"


def test_quotas_file_raises_a_quota_and_the_account_wide_one_still_applies(sm, data, quotas_file):
    quotas_file({"ml.c5.xlarge for training job usage": 30})
    request = training_request(unique("many"), data)
    request["ResourceConfig"].update(InstanceType="ml.c5.xlarge", InstanceCount=25)

    code, message = error_of(lambda: sm.create_training_job(**request))

    assert code == "ResourceLimitExceeded"
    assert message.startswith(
        "The account-level service limit 'Number of instances across all training jobs' is 8"
    )
    assert "request delta of 25 Instances" in message


def test_endpoint_and_transform_job_over_their_quotas_are_refused(sm, s3, data):
    model = unique("model")
    s3.put_object(Bucket=data, Key="none/model.tar.gz", Body=b"never served: the quota refuses first")
    sm.create_model(
        ModelName=model,
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{data}/none/model.tar.gz"},
    )
    config = unique("config")
    sm.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": "a",
                "ModelName": model,
                "InstanceType": "ml.c5.2xlarge",
                "InitialInstanceCount": 1000,
            }
        ],
    )
    endpoint = unique("endpoint")
    code, message = error_of(lambda: sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config))
    assert code == "ResourceLimitExceeded"
    assert message.startswith(
        QUOTA_MESSAGE.format(name="ml.c5.2xlarge for endpoint usage", limit=8, used=0, delta=1000)
    )
    assert error_of(lambda: sm.describe_endpoint(EndpointName=endpoint))[0] == "ValidationException"

    code, message = error_of(
        lambda: sm.create_transform_job(
            TransformJobName=unique("transform"),
            ModelName=model,
            TransformInput={
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{data}/x"}}
            },
            TransformOutput={"S3OutputPath": f"s3://{data}/out"},
            TransformResources={"InstanceType": "ml.c5.2xlarge", "InstanceCount": 50},
        )
    )
    assert code == "ResourceLimitExceeded"
    assert message.startswith(
        QUOTA_MESSAGE.format(name="ml.c5.2xlarge for transform job usage", limit=4, used=0, delta=50)
    )


def test_tuning_job_whose_training_job_can_never_fit_is_refused(sm, data):
    request = tuning_request(unique("tune-big")[:32], data)
    request["TrainingJobDefinition"]["ResourceConfig"].update(InstanceType="ml.c5.xlarge", InstanceCount=9)
    code, message = error_of(lambda: sm.create_hyper_parameter_tuning_job(**request))
    assert code == "ResourceLimitExceeded"
    assert "'ml.c5.xlarge for training job usage' is 8 Instances" in message


def test_tuning_job_waits_for_instances_instead_of_exceeding_the_quota(sm, data, quotas_file):
    quotas_file({"ml.c4.xlarge for training job usage": 1})
    name = unique("tune-quota")[:32]
    request = tuning_request(name, data, jobs=2, parallel=2)
    request["TrainingJobDefinition"]["ResourceConfig"]["InstanceType"] = "ml.c4.xlarge"
    sm.create_hyper_parameter_tuning_job(**request)
    desc = wait_for(
        lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
        "HyperParameterTuningJobStatus",
        timeout=120,
    )
    assert desc["HyperParameterTuningJobStatus"] == "Completed", desc.get("FailureReason")
    jobs = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="CreationTime", SortOrder="Ascending"
    )["TrainingJobSummaries"]
    assert [j["TrainingJobStatus"] for j in jobs] == ["Completed", "Completed"]
    # One instance allowed: the second training job started only after the first had ended.
    assert jobs[1]["TrainingStartTime"] >= jobs[0]["TrainingEndTime"]


# -- metric regexes -----------------------------------------------------------------------------


def test_metric_regex_re2_cannot_run_is_refused_naming_it(sm, data):
    request = training_request(unique("lookahead"), data)
    request["AlgorithmSpecification"]["MetricDefinitions"] = [
        {"Name": "loss", "Regex": r"loss=([0-9.]+)(?=;)"}
    ]
    code, message = error_of(lambda: sm.create_training_job(**request))
    assert code == "ValidationException"
    assert "metric 'loss'" in message and "RE2" in message

    tuning = tuning_request(unique("tune-regex")[:32], data)
    tuning["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"] = [
        {"Name": "score", "Regex": r"(a)\1"}
    ]
    code, message = error_of(lambda: sm.create_hyper_parameter_tuning_job(**tuning))
    assert code == "ValidationException"
    assert "metric 'score'" in message


def test_backtracking_metric_regex_does_not_stall_the_service(boto, sm, data):
    # ``(a+)+$`` backtracks exponentially on a run of a's that ends in "b"; the job's log gets
    # such a line from its own error message about the unknown hyperparameter.
    name = unique("backtrack")
    request = training_request(name, data)
    request["HyperParameters"]["a" * 200 + "b"] = "1"
    request["AlgorithmSpecification"]["MetricDefinitions"] = [{"Name": "stall", "Regex": "(a+)+$"}]
    sm.create_training_job(**request)

    # A stalled service would leave this client's request unanswered.
    patient = boto.client("sagemaker", config=Config(read_timeout=30, retries={"max_attempts": 0}))
    desc = wait_for(lambda: patient.describe_training_job(TrainingJobName=name), "TrainingJobStatus")
    assert desc["TrainingJobStatus"] == "Failed"
    assert "Extraneous hyperparameter found: aaaa" in desc["FailureReason"]
    assert patient.list_training_jobs(NameContains=name)["TrainingJobSummaries"][0]["TrainingJobName"] == name
