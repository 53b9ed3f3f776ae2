"""What a container's log shows: its folder as ``/opt/ml``, as the real containers print it."""

from __future__ import annotations

from tests.service_helpers import (
    LINEAR_LEARNER_IMAGE,
    training_request,
    unique,
    upload_regression_data,
    wait_training,
)


def test_training_log_names_the_container_folder_not_the_host_folder(service, boto, sm, s3, bucket):
    """The real Linear Learner logs ``Reading provided configuration from
    /opt/ml/input/config/hyperparameters.json: {...}``; the job's folder on this machine (under the
    state folder) is an implementation detail a learner should not see in CloudWatch."""
    upload_regression_data(s3, bucket, "log-paths")
    job = unique("logpaths")
    request = training_request(job, bucket, LINEAR_LEARNER_IMAGE)
    request["HyperParameters"] = {"feature_dim": "4", "predictor_type": "regressor", "epochs": "1"}
    for channel in request["InputDataConfig"]:
        source = channel["DataSource"]["S3DataSource"]
        source["S3Uri"] = source["S3Uri"].replace("/data/", "/log-paths/")
    sm.create_training_job(**request)
    assert wait_training(sm, job)["TrainingJobStatus"] == "Completed"

    logs = boto.client("logs")
    group = "/aws/sagemaker/TrainingJobs"
    stream = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=job)["logStreams"][0]
    events = logs.get_log_events(
        logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True
    )
    lines = [event["message"] for event in events["events"]]
    assert any(
        "Reading provided configuration from /opt/ml/input/config/hyperparameters.json" in line
        for line in lines
    ), lines
    assert not [line for line in lines if str(service.state_dir) in line]
