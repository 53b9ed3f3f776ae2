"""Names and S3 keys from requests never lead the service to write or delete outside its folders."""

from __future__ import annotations

from pathlib import Path

import botocore.exceptions
import pytest

from helpers.local.core.config import ROLE_ARN
from tests.service_helpers import (
    XGBOOST_IMAGE,
    regression_csv,
    single_variant_config,
    train_model,
    training_request,
    unique,
    wait_for,
    wait_training,
)

CLIMB = "/".join([".."] * 40)  # more than enough to reach / from any state folder


def _train_on(sm, s3, bucket, prefix: str, keys: dict[str, str]) -> dict:
    for key, body in keys.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
    job = unique("paths")
    request = training_request(job, bucket)
    request["InputDataConfig"] = request["InputDataConfig"][:1]
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{bucket}/{prefix}"
    request["HyperParameters"].pop("early_stopping_rounds", None)
    sm.create_training_job(**request)
    return wait_training(sm, job)


def _files_under(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.rglob("*") if p.is_file()]
    except FileNotFoundError:  # removed while it was walked: still being deleted, look again
        return [folder]


def test_dot_dot_keys_fail_the_job_and_write_nothing_outside(sm, s3, bucket, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    prefix = unique("climb") + "/"
    escaping = f"{prefix}{CLIMB}{outside}/pwn.csv"
    desc = _train_on(
        sm, s3, bucket, prefix, {f"{prefix}train.csv": regression_csv(), escaping: regression_csv()}
    )
    assert desc["TrainingJobStatus"] == "Failed"
    assert desc["FailureReason"].startswith("ClientError:") and escaping in desc["FailureReason"]
    assert _files_under(outside) == []


def test_empty_key_segments_stay_inside_the_channel(sm, s3, bucket, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    prefix = unique("slip") + "/"
    # 'prefix//<absolute path>' once resolved to that absolute path; 'prefix//train.csv' to /train.csv.
    desc = _train_on(
        sm,
        s3,
        bucket,
        prefix,
        {f"{prefix}/{outside}/pwn.csv": regression_csv(), f"{prefix}/train.csv": regression_csv(seed=3)},
    )
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    assert _files_under(outside) == []
    assert not Path("/train.csv").exists()


def test_keys_that_collapse_onto_the_same_file_are_named(sm, s3, bucket):
    prefix = unique("twins") + "/"
    desc = _train_on(
        sm,
        s3,
        bucket,
        prefix,
        {f"{prefix}train.csv": regression_csv(), f"{prefix}/train.csv": regression_csv(seed=1)},
    )
    assert desc["TrainingJobStatus"] == "Failed"
    assert desc["FailureReason"].startswith("ClientError:") and f"{prefix}/train.csv" in desc["FailureReason"]


@pytest.mark.parametrize("channel", ["..", ".", "../x"])
def test_channel_names_that_are_paths_are_refused_up_front(sm, bucket, channel):
    request = training_request(unique("channel"), bucket)
    request["InputDataConfig"][0]["ChannelName"] = channel
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        sm.create_training_job(**request)
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_a_variant_name_that_is_a_path_is_refused_and_nothing_is_deleted(service, sm, s3, bucket, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    model = train_model(sm, s3, bucket, unique("variant-data"), seed=5)
    config = unique("config")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        sm.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=[
                {
                    "VariantName": f"{CLIMB}{victim}",
                    "ModelName": model,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
    error = raised.value.response["Error"]
    assert (
        error["Code"] == "ValidationException"
        and "productionVariants.1.member.variantName" in error["Message"]
    )
    assert (victim / "keep.txt").read_text() == "precious"
    sm.delete_model(ModelName=model)


def test_an_endpoint_folder_is_removed_but_nothing_beside_it(service, sm, s3, bucket):
    # The neighbour shares the endpoint's name as a prefix: deleting one must not touch the other.
    model = train_model(sm, s3, bucket, unique("endpoint-data"), seed=6)
    name = unique("ep")
    neighbour = service.state_dir / "work" / "endpoints" / f"{name}-neighbour"
    neighbour.mkdir(parents=True)
    (neighbour / "keep.txt").write_text("keep")
    single_variant_config(sm, name, model)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    assert (
        wait_for(lambda: sm.describe_endpoint(EndpointName=name), "EndpointStatus")["EndpointStatus"]
        == "InService"
    )
    sm.delete_endpoint(EndpointName=name)
    folder = service.state_dir / "work" / "endpoints" / name
    wait_for(lambda: {"EndpointStatus": "Deleting" if _files_under(folder) else "Gone"}, "EndpointStatus")
    assert (neighbour / "keep.txt").read_text() == "keep"
    sm.delete_endpoint_config(EndpointConfigName=name)
    sm.delete_model(ModelName=model)


def test_model_artifact_with_escaping_members_is_unpacked_safely(sm, s3, bucket, tmp_path):
    import io
    import tarfile

    outside = tmp_path / "outside"
    outside.mkdir()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"not a model"
        info = tarfile.TarInfo(f"{CLIMB}{outside}/pwn.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    key = f"{unique('evil-model')}/model.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    model = unique("evil")
    sm.create_model(
        ModelName=model,
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{bucket}/{key}"},
    )
    single_variant_config(sm, model, model)
    sm.create_endpoint(EndpointName=model, EndpointConfigName=model)
    desc = wait_for(lambda: sm.describe_endpoint(EndpointName=model), "EndpointStatus")
    assert desc["EndpointStatus"] == "Failed"
    assert _files_under(outside) == []
    sm.delete_endpoint(EndpointName=model)
    sm.delete_endpoint_config(EndpointConfigName=model)
    sm.delete_model(ModelName=model)
