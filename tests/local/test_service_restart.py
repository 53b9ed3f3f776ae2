"""Durability: a restarted service still knows its resources and brings endpoints back."""

from __future__ import annotations

from helpers.local import control
from helpers.local.core.config import ROLE_ARN, load_config
from tests.conftest import free_port
from tests.service_helpers import (
    XGBOOST_IMAGE,
    processes_in,
    regression_csv,
    session_for,
    training_request,
    wait_for,
    wait_training,
    wait_until,
)


def _clients(config):
    session = session_for(config)
    make = lambda name: session.client(name, endpoint_url=config.url)  # noqa: E731
    return make("sagemaker"), make("s3"), make("sagemaker-runtime")


def test_restart_keeps_resources_and_restores_endpoints(tmp_path):
    config = load_config(free_port(), tmp_path / "state")
    control.start(config)
    try:
        sm, s3, runtime = _clients(config)
        s3.create_bucket(Bucket="restart-test")
        s3.put_object(Bucket="restart-test", Key="data/train/t.csv", Body=regression_csv().encode())
        s3.put_object(
            Bucket="restart-test", Key="data/validation/v.csv", Body=regression_csv(seed=9).encode()
        )
        sm.create_training_job(**training_request("restart-job", "restart-test"))
        artifact = wait_training(sm, "restart-job")["ModelArtifacts"]["S3ModelArtifacts"]
        sm.create_model(
            ModelName="restart-model",
            ExecutionRoleArn=ROLE_ARN,
            PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": artifact},
        )
        sm.create_endpoint_config(
            EndpointConfigName="restart-config",
            ProductionVariants=[
                {
                    "VariantName": "A",
                    "ModelName": "restart-model",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        sm.create_endpoint(EndpointName="restart-endpoint", EndpointConfigName="restart-config")
        wait_for(lambda: sm.describe_endpoint(EndpointName="restart-endpoint"), "EndpointStatus")
        before = runtime.invoke_endpoint(
            EndpointName="restart-endpoint", ContentType="text/csv", Body="1,2,3,4"
        )["Body"].read()

        assert processes_in(config.state_dir) != []  # the endpoint's model server
        assert control.stop(config)
        assert control.health(config) is None
        assert processes_in(config.state_dir) == []  # stopping the service stopped its children
        control.start(config)

        sm, s3, runtime = _clients(config)
        assert sm.describe_training_job(TrainingJobName="restart-job")["TrainingJobStatus"] == "Completed"
        assert sm.describe_model(ModelName="restart-model")["PrimaryContainer"]["ModelDataUrl"] == artifact
        desc = wait_for(lambda: sm.describe_endpoint(EndpointName="restart-endpoint"), "EndpointStatus")
        assert desc["EndpointStatus"] == "InService", desc.get("FailureReason")
        after = runtime.invoke_endpoint(
            EndpointName="restart-endpoint", ContentType="text/csv", Body="1,2,3,4"
        )["Body"].read()
        assert after == before

        # Deleting the restored endpoint stops its server and removes its unpacked model files.
        sm.delete_endpoint(EndpointName="restart-endpoint")
        folder = config.state_dir / "work" / "endpoints" / "restart-endpoint"
        wait_until(lambda: not sm.list_endpoints()["Endpoints"], "the endpoint is deleted")
        assert processes_in(config.state_dir) == []
        assert [p for p in folder.rglob("*") if p.is_file()] == []
    finally:
        control.stop(config)
