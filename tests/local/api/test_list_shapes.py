"""Every List operation through boto3: summaries as botocore's shapes define them, and pagination.

The ``sm`` client validates every response against botocore's output shape, so each call here also
checks that boto3 reads the answer.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers.local.core import protocol
from helpers.local.core.config import ROLE_ARN
from tests.service_helpers import (
    XGBOOST_IMAGE,
    model_from_job,
    single_variant_config,
    small_tuning_request,
    training_request,
    unique,
    upload_regression_data,
    wait_for,
    wait_transform,
    wait_tuning_job,
)

# Each List operation that lists resources by name, with the Describe call and the request key
# that names one of them.
LISTED = {
    "ListTrainingJobs": ("describe_training_job", "TrainingJobName"),
    "ListModels": ("describe_model", "ModelName"),
    "ListEndpointConfigs": ("describe_endpoint_config", "EndpointConfigName"),
    "ListEndpoints": ("describe_endpoint", "EndpointName"),
    "ListTransformJobs": ("describe_transform_job", "TransformJobName"),
    "ListHyperParameterTuningJobs": ("describe_hyper_parameter_tuning_job", "HyperParameterTuningJobName"),
    "ListProcessingJobs": ("describe_processing_job", "ProcessingJobName"),
}


def snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def summary_shape(operation: str) -> tuple[str, set[str]]:
    """The result key and the members of one listed item, read from botocore's model."""
    output = protocol.operation_model(operation).output_shape
    (key,) = [name for name, shape in output.members.items() if shape.type_name == "list"]
    return key, set(output.members[key].member.members)


@pytest.fixture(scope="module")
def listed(sm, s3, bucket) -> dict[str, Any]:
    """Two or more of every listed resource, all named with one prefix, finished or settled."""
    prefix = unique("lists")
    upload_regression_data(s3, bucket, prefix)
    tuning_jobs = [f"{prefix}-tune-{i}" for i in range(2)]
    for name in tuning_jobs:  # they train while the rest is set up
        sm.create_hyper_parameter_tuning_job(**small_tuning_request(name, bucket, prefix))
    job = f"{prefix}-train"
    request = training_request(job, bucket, num_round="2")
    for channel in request["InputDataConfig"]:
        source = channel["DataSource"]["S3DataSource"]
        source["S3Uri"] = source["S3Uri"].replace("/data/", f"/{prefix}/")
    sm.create_training_job(**request)
    model = model_from_job(sm, job, f"{prefix}-model")
    # A model whose artifact does not exist: its endpoint fails, its transform job too.
    missing = f"{prefix}-model-missing"
    sm.create_model(
        ModelName=missing,
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{bucket}/{prefix}/missing.tar.gz"},
    )
    sm.add_tags(ResourceArn=sm.describe_model(ModelName=model)["ModelArn"], Tags=[{"Key": "k", "Value": "v"}])
    configs, endpoints, transforms = [], [], []
    for i, name in enumerate((model, missing)):
        configs.append(f"{prefix}-config-{i}")
        single_variant_config(sm, configs[-1], name)
        endpoints.append(f"{prefix}-endpoint-{i}")
        sm.create_endpoint(EndpointName=endpoints[-1], EndpointConfigName=configs[-1])
        transforms.append(f"{prefix}-batch-{i}")
        sm.create_transform_job(
            TransformJobName=transforms[-1],
            ModelName=name,
            TransformInput={
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{prefix}/validation"}
                },
                "ContentType": "text/csv",
                "SplitType": "Line",
            },
            TransformOutput={"S3OutputPath": f"s3://{bucket}/{prefix}-batch-out/{i}"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        )
    processing_jobs = []
    for i, script in enumerate(("print('ok')", "open('/opt/ml/output/message', 'w').write('no'); exit(1)")):
        s3.put_object(Bucket=bucket, Key=f"{prefix}/code-{i}/job.py", Body=script.encode())
        processing_jobs.append(
            f"{prefix}-process-{i}"
        )  # one completes, one fails (ExitMessage, FailureReason)
        sm.create_processing_job(
            ProcessingJobName=processing_jobs[-1],
            RoleArn=ROLE_ARN,
            AppSpecification={
                "ImageUri": XGBOOST_IMAGE,
                "ContainerEntrypoint": ["python3", "/opt/ml/processing/code/job.py"],
            },
            ProcessingInputs=[
                {
                    "InputName": "code",
                    "S3Input": {
                        "S3Uri": f"s3://{bucket}/{prefix}/code-{i}/job.py",
                        "LocalPath": "/opt/ml/processing/code",
                        "S3DataType": "S3Prefix",
                    },
                }
            ],
            ProcessingResources={
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}
            },
        )
    for name in transforms:
        wait_transform(sm, name)
    for name in processing_jobs:
        wait_for(lambda n=name: sm.describe_processing_job(ProcessingJobName=n), "ProcessingJobStatus")
    for name in endpoints:
        wait_for(lambda n=name: sm.describe_endpoint(EndpointName=n), "EndpointStatus")
    for name in tuning_jobs:
        assert wait_tuning_job(sm, name)["HyperParameterTuningJobStatus"] == "Completed"
    training_jobs = sm.list_training_jobs(NameContains=prefix, MaxResults=100)["TrainingJobSummaries"]
    yield {
        "prefix": prefix,
        "ListTrainingJobs": [s["TrainingJobName"] for s in training_jobs],
        "ListModels": [model, missing],
        "ListEndpointConfigs": configs,
        "ListEndpoints": endpoints,
        "ListTransformJobs": transforms,
        "ListHyperParameterTuningJobs": tuning_jobs,
        "ListProcessingJobs": processing_jobs,
    }
    for name in endpoints:
        sm.delete_endpoint(EndpointName=name)


@pytest.mark.parametrize("operation", sorted(LISTED))
def test_summaries_carry_exactly_the_shape_members_their_describe_document_has(sm, listed, operation):
    describe, name_key = LISTED[operation]
    key, members = summary_shape(operation)
    summaries = getattr(sm, snake(operation))(NameContains=listed["prefix"], MaxResults=100)[key]
    assert sorted(s[name_key] for s in summaries) == sorted(listed[operation])
    for summary in summaries:
        document = getattr(sm, describe)(**{name_key: summary[name_key]})
        if operation == "ListHyperParameterTuningJobs":
            # The summary states these two of the job's config at the top level.
            config = document["HyperParameterTuningJobConfig"]
            document.update(Strategy=config["Strategy"], ResourceLimits=config["ResourceLimits"])
        expected = {m: document[m] for m in members if m in document}
        assert summary == expected


def test_training_jobs_of_a_tuning_job_are_summarised_as_its_best_training_job(sm, listed):
    _, members = summary_shape("ListTrainingJobsForHyperParameterTuningJob")
    for tuning_job in listed["ListHyperParameterTuningJobs"]:
        described = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning_job)
        summaries = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=tuning_job
        )["TrainingJobSummaries"]
        assert len(summaries) == 2
        best = described["BestTrainingJob"]
        assert [s for s in summaries if s["TrainingJobName"] == best["TrainingJobName"]] == [best]
        for summary in summaries:
            assert set(summary) <= members
            training_job = sm.describe_training_job(TrainingJobName=summary["TrainingJobName"])
            shared = members & set(training_job) - {"TrainingJobName"}
            assert {m: summary[m] for m in shared} == {m: training_job[m] for m in shared}
            assert summary["TuningJobName"] == tuning_job and summary["ObjectiveStatus"] == "Succeeded"
            assert summary["TunedHyperParameters"].keys() == {"max_depth"}


def list_calls(sm, listed) -> dict[str, dict[str, Any]]:
    """Each List operation with a request that lists more than one item, resources named ``listed``."""
    model_arn = sm.describe_model(ModelName=listed["ListModels"][0])["ModelArn"]
    calls = {operation: {"NameContains": listed["prefix"]} for operation in LISTED}
    calls["ListTrainingJobsForHyperParameterTuningJob"] = {
        "HyperParameterTuningJobName": listed["ListHyperParameterTuningJobs"][0]
    }
    calls["ListTags"] = {"ResourceArn": model_arn}
    return calls


@pytest.fixture(scope="module")
def many_tags(sm, listed) -> list[dict[str, str]]:
    """120 tags on the listed model: ListTags pages hold at least 50."""
    arn = sm.describe_model(ModelName=listed["ListModels"][0])["ModelArn"]
    tags = [{"Key": f"tag-{i:03d}", "Value": str(i)} for i in range(120)]
    for start in range(0, len(tags), 40):
        sm.add_tags(ResourceArn=arn, Tags=tags[start : start + 40])
    return sm.list_tags(ResourceArn=arn, MaxResults=200)["Tags"]


@pytest.mark.parametrize(
    "operation", sorted([*LISTED, "ListTrainingJobsForHyperParameterTuningJob", "ListTags"])
)
def test_the_paginator_reads_every_item_once_in_pages_of_the_smallest_size(sm, listed, many_tags, operation):
    request = list_calls(sm, listed)[operation]
    key, _ = summary_shape(operation)
    everything = getattr(sm, snake(operation))(**request, MaxResults=200 if operation == "ListTags" else 100)
    assert "NextToken" not in everything and len(everything[key]) >= 2
    smallest = protocol.operation_model(operation).input_shape.members["MaxResults"].metadata["min"]
    pages = list(
        sm.get_paginator(snake(operation)).paginate(**request, PaginationConfig={"PageSize": smallest})
    )
    assert all(len(page[key]) <= smallest for page in pages)
    assert len(pages) == -(-len(everything[key]) // smallest)
    assert [item for page in pages for item in page[key]] == everything[key]


@pytest.fixture(scope="module")
def unchecked(boto):
    """A SageMaker client that sends whatever it is given (no client-side validation)."""
    return boto.client("sagemaker", config=Config(parameter_validation=False))


def refused(call, **params) -> str:
    with pytest.raises(ClientError) as raised:
        call(**params)
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException", error
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Message"]


@pytest.mark.parametrize(
    "operation", sorted([*LISTED, "ListTrainingJobsForHyperParameterTuningJob", "ListTags"])
)
@pytest.mark.parametrize("token", ["garbage", "1", "eyJhIjogMX0", "²", "x" * 8000])
def test_a_token_no_call_returned_is_a_validation_error(unchecked, sm, listed, operation, token):
    request = list_calls(sm, listed)[operation]
    message = refused(getattr(unchecked, snake(operation)), **request, NextToken=token)
    assert "Invalid pagination token" in message


def first_token(sm, operation: str, request: dict[str, Any]) -> str:
    size = 50 if operation == "ListTags" else 1
    return getattr(sm, snake(operation))(**request, MaxResults=size)["NextToken"]


def test_a_token_from_another_list_operation_is_refused(sm, listed, many_tags):
    calls = list_calls(sm, listed)
    token = first_token(sm, "ListModels", {"NameContains": listed["prefix"]})
    for operation in ("ListEndpointConfigs", "ListTrainingJobs", "ListTags"):
        message = refused(getattr(sm, snake(operation)), **calls[operation], NextToken=token)
        assert "Invalid pagination token" in message and operation in message
    # The same token still works where it came from.
    assert sm.list_models(NameContains=listed["prefix"], NextToken=token, MaxResults=1)["Models"]


def test_a_token_for_another_resource_or_edited_is_refused(sm, listed, many_tags):
    calls = list_calls(sm, listed)
    tuning_jobs = listed["ListHyperParameterTuningJobs"]
    token = first_token(
        sm, "ListTrainingJobsForHyperParameterTuningJob", calls["ListTrainingJobsForHyperParameterTuningJob"]
    )
    refused(
        sm.list_training_jobs_for_hyper_parameter_tuning_job,
        HyperParameterTuningJobName=tuning_jobs[1],
        NextToken=token,
    )
    other_model = sm.describe_model(ModelName=listed["ListModels"][1])["ModelArn"]
    tags_token = first_token(sm, "ListTags", calls["ListTags"])
    refused(sm.list_tags, ResourceArn=other_model, NextToken=tags_token)
    edited = token[:-1] + ("A" if token[-1] != "A" else "B")
    refused(
        sm.list_training_jobs_for_hyper_parameter_tuning_job,
        HyperParameterTuningJobName=tuning_jobs[0],
        NextToken=edited,
    )
