"""What the service keeps about a resource beside its Describe document, across restarts and from
state folders written before that was kept apart."""

from __future__ import annotations

import json
import sqlite3
import time

from helpers.local import control
from helpers.local.core.config import load_config
from helpers.local.store.resources import Store
from tests.conftest import free_port
from tests.service_helpers import (
    model_from_job,
    session_for,
    single_variant_config,
    small_tuning_request,
    upload_regression_data,
    wait_for,
    wait_tuning_job,
)

# The resources file as it was when records were stored among the resources.
OLD_SCHEMA = """
CREATE TABLE resources (kind TEXT NOT NULL, name TEXT NOT NULL, arn TEXT NOT NULL, created REAL NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY (kind, name));
CREATE INDEX resources_arn ON resources (arn);
CREATE TABLE tags (arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (arn, key));
"""
ARN = "arn:aws:sagemaker:us-east-1:000000000000"


def _clients(config):
    session = session_for(config)
    return session.client("sagemaker", endpoint_url=config.url), session.client("s3", endpoint_url=config.url)


def test_restart_keeps_tuning_jobs_and_endpoints_working(tmp_path):
    config = load_config(free_port(), tmp_path / "state")
    control.start(config)
    try:
        sm, s3 = _clients(config)
        s3.create_bucket(Bucket="records")
        upload_regression_data(s3, "records", "data")
        sm.create_hyper_parameter_tuning_job(**small_tuning_request("kept", "records", "data"))
        before = wait_tuning_job(sm, "kept")
        assert before["HyperParameterTuningJobStatus"] == "Completed"
        assert "TrainingJobs" not in before  # the launched jobs are the service's own record
        jobs = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="kept")
        model_from_job(sm, before["BestTrainingJob"]["TrainingJobName"], "best")
        single_variant_config(sm, "best-config", "best")
        sm.create_endpoint(EndpointName="best", EndpointConfigName="best-config")
        wait_for(lambda: sm.describe_endpoint(EndpointName="best"), "EndpointStatus")

        assert control.stop(config)
        control.start(config)

        sm, s3 = _clients(config)
        after = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="kept")
        for member in ("BestTrainingJob", "TrainingJobStatusCounters", "ObjectiveStatusCounters"):
            assert after[member] == before[member]
        again = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="kept")
        assert again["TrainingJobSummaries"] == jobs["TrainingJobSummaries"]
        desc = wait_for(lambda: sm.describe_endpoint(EndpointName="best"), "EndpointStatus")
        assert desc["EndpointStatus"] == "InService", desc.get("FailureReason")
        # Rescaling reads how the endpoint was deployed from its record.
        sm.update_endpoint_weights_and_capacities(
            EndpointName="best", DesiredWeightsAndCapacities=[{"VariantName": "A", "DesiredWeight": 2.0}]
        )
        desc = wait_for(lambda: sm.describe_endpoint(EndpointName="best"), "EndpointStatus")
        assert desc["EndpointStatus"] == "InService", desc.get("FailureReason")
        assert desc["ProductionVariants"][0]["CurrentWeight"] == 2.0
    finally:
        control.stop(config)


def _old_state_folder(database) -> None:
    """A resources file written before records had their own table: one tuning job with one
    training job, one endpoint with its deployment stored as a resource."""
    created = time.time() - 60
    definition = {"StaticHyperParameters": {}, "AlgorithmSpecification": {}, "RoleArn": "r"}
    tuning_job = {
        "HyperParameterTuningJobName": "old-tuning",
        "HyperParameterTuningJobArn": f"{ARN}:hyper-parameter-tuning-job/old-tuning",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 1, "MaxParallelTrainingJobs": 1},
        },
        "TrainingJobDefinition": definition,
        "HyperParameterTuningJobStatus": "Completed",
        "CreationTime": created,
        "LastModifiedTime": created + 30,
        "HyperParameterTuningEndTime": created + 30,
        "TrainingJobs": [
            {"TrainingJobName": "old-tuning-001-abcdef12", "TunedHyperParameters": {"max_depth": "3"}}
        ],
    }
    training_job = {
        "TrainingJobName": "old-tuning-001-abcdef12",
        "TrainingJobArn": f"{ARN}:training-job/old-tuning-001-abcdef12",
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "CreationTime": created + 1,
        "TrainingStartTime": created + 2,
        "TrainingEndTime": created + 20,
        "LastModifiedTime": created + 20,
        "FinalMetricDataList": [{"MetricName": "validation:rmse", "Value": 0.5, "Timestamp": created + 20}],
    }
    endpoint = {
        "EndpointName": "old-endpoint",
        "EndpointArn": f"{ARN}:endpoint/old-endpoint",
        "EndpointConfigName": "gone",
        "EndpointStatus": "Failed",
        "FailureReason": "it failed before",
        "ProductionVariants": [{"VariantName": "A", "DesiredInstanceCount": 1}],
        "CreationTime": created,
        "LastModifiedTime": created,
    }
    deployment = {
        "EndpointConfig": {"ProductionVariants": [{"VariantName": "A", "InstanceType": "ml.m5.large"}]},
        "Models": {},
        "ModelDirs": {},
    }
    database.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(database)
    db.executescript(OLD_SCHEMA)
    rows = [
        ("HyperParameterTuningJob", "old-tuning", tuning_job["HyperParameterTuningJobArn"], tuning_job),
        ("TrainingJob", training_job["TrainingJobName"], training_job["TrainingJobArn"], training_job),
        ("Endpoint", "old-endpoint", endpoint["EndpointArn"], endpoint),
        ("EndpointDeployment", "old-endpoint", "deployment/old-endpoint", deployment),
        ("EndpointDeployment", "deleted-endpoint", "deployment/deleted-endpoint", deployment),
    ]
    db.executemany(
        "INSERT INTO resources VALUES (?, ?, ?, ?, ?)",
        [(kind, name, arn, created, json.dumps(doc)) for kind, name, arn, doc in rows],
    )
    db.commit()
    db.close()


def test_an_older_state_folder_moves_its_records_out_of_the_resources(tmp_path):
    database = tmp_path / "state.db"
    _old_state_folder(database)
    store = Store(database)
    try:
        assert store.list("EndpointDeployment") == []
        assert store.get_record("Endpoint", "old-endpoint")["EndpointConfig"]["ProductionVariants"][0] == {
            "VariantName": "A",
            "InstanceType": "ml.m5.large",
        }
        assert store.get_record("Endpoint", "deleted-endpoint") is None  # its endpoint was gone
        assert "TrainingJobs" not in store.get("HyperParameterTuningJob", "old-tuning")
        assert store.get_record("HyperParameterTuningJob", "old-tuning")["TrainingJobs"][0][
            "TrainingJobName"
        ] == ("old-tuning-001-abcdef12")
    finally:
        store.close()
    # Opening it again changes nothing more.
    store = Store(database)
    try:
        assert store.get_record("HyperParameterTuningJob", "old-tuning")["TrainingJobs"]
        assert store.delete("Endpoint", "old-endpoint")
        assert store.get_record("Endpoint", "old-endpoint") is None  # a record goes with its resource
    finally:
        store.close()


def test_the_service_answers_from_an_older_state_folder(tmp_path):
    config = load_config(free_port(), tmp_path / "state")
    _old_state_folder(config.database)
    control.start(config)
    try:
        sm, _ = _clients(config)
        desc = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="old-tuning")
        assert "TrainingJobs" not in desc
        assert desc["TrainingJobStatusCounters"]["Completed"] == 1
        assert desc["BestTrainingJob"]["TrainingJobName"] == "old-tuning-001-abcdef12"
        assert desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.5
        listed = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="old-tuning"
        )
        assert [s["TunedHyperParameters"] for s in listed["TrainingJobSummaries"]] == [{"max_depth": "3"}]
        assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == ["old-endpoint"]
    finally:
        control.stop(config)
