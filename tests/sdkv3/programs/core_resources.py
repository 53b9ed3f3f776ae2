"""``sagemaker.core.resources`` (SDK v3's typed resources): TrainingJob → Model → EndpointConfig →
Endpoint (invoke; update to two variants; invoke each through ``target_variant``) → TransformJob."""

from sagemaker.core import shapes
from sagemaker.core.resources import Endpoint, EndpointConfig, Model, TrainingJob, TransformJob
from v3_common import BUCKET, ROLE, XGBOOST_IMAGE, regression_csv, session, unique, upload

sm_session = session()
train_uri = upload(sm_session, "resources/train/data.csv", regression_csv())
test_uri = upload(sm_session, "resources/test/rows.csv", "1.0,1.0\n4.0,2.0\n")
name = unique("v3-res")


def train(job_name: str, rounds: int) -> TrainingJob:
    job = TrainingJob.create(
        training_job_name=job_name,
        role_arn=ROLE,
        algorithm_specification=shapes.AlgorithmSpecification(
            training_image=XGBOOST_IMAGE, training_input_mode="File"
        ),
        hyper_parameters={"num_round": str(rounds), "objective": "reg:squarederror"},
        input_data_config=[
            shapes.Channel(
                channel_name="train",
                content_type="text/csv",
                data_source=shapes.DataSource(
                    s3_data_source=shapes.S3DataSource(s3_data_type="S3Prefix", s3_uri=train_uri)
                ),
            )
        ],
        output_data_config=shapes.OutputDataConfig(s3_output_path=f"s3://{BUCKET}/resources/output"),
        resource_config=shapes.ResourceConfig(
            instance_type="ml.m5.large", instance_count=1, volume_size_in_gb=5
        ),
        stopping_condition=shapes.StoppingCondition(max_runtime_in_seconds=600),
    )
    job.wait(poll=1, logs=False)
    print("training:", job_name, job.training_job_status)
    return job


def model(model_name: str, job: TrainingJob) -> Model:
    return Model.create(
        model_name=model_name,
        primary_container=shapes.ContainerDefinition(
            image=XGBOOST_IMAGE, model_data_url=job.model_artifacts.s3_model_artifacts
        ),
        execution_role_arn=ROLE,
    )


def variant(variant_name: str, model_name: str) -> shapes.ProductionVariant:
    return shapes.ProductionVariant(
        variant_name=variant_name,
        model_name=model_name,
        initial_instance_count=1,
        instance_type="ml.m5.large",
        initial_variant_weight=1.0,
    )


first = model(f"{name}-a", train(f"{name}-a", 20))
second = model(f"{name}-b", train(f"{name}-b", 2))

EndpointConfig.create(
    endpoint_config_name=f"{name}-one", production_variants=[variant("A", first.model_name)]
)
endpoint = Endpoint.create(endpoint_name=name, endpoint_config_name=f"{name}-one")
endpoint.wait_for_status("InService", poll=1)
answer = endpoint.invoke(body="1.0,1.0\n4.0,2.0", content_type="text/csv")
print("predictions:", answer.body.read().decode().split())

EndpointConfig.create(
    endpoint_config_name=f"{name}-two",
    production_variants=[variant("A", first.model_name), variant("B", second.model_name)],
)
endpoint.endpoint_config_name = f"{name}-two"
endpoint.update()
endpoint.wait_for_status("InService", poll=1)
print("variants:", sorted(v.variant_name for v in endpoint.production_variants))
for name_of_variant in ("A", "B"):
    answer = endpoint.invoke(body="4.0,2.0", content_type="text/csv", target_variant=name_of_variant)
    print(
        f"variant {name_of_variant} answered by:",
        answer.invoked_production_variant,
        answer.body.read().decode(),
    )

transform = TransformJob.create(
    transform_job_name=f"{name}-transform",
    model_name=first.model_name,
    transform_input=shapes.TransformInput(
        data_source=shapes.TransformDataSource(
            s3_data_source=shapes.TransformS3DataSource(s3_data_type="S3Prefix", s3_uri=test_uri)
        ),
        content_type="text/csv",
        split_type="Line",
    ),
    transform_output=shapes.TransformOutput(s3_output_path=f"s3://{BUCKET}/resources/transform"),
    transform_resources=shapes.TransformResources(instance_type="ml.m5.large", instance_count=1),
)
transform.wait(poll=1, logs=False)
print("transform:", transform.transform_job_status)
output = sm_session.boto_session.client("s3").get_object(
    Bucket=BUCKET, Key="resources/transform/rows.csv.out"
)
print("transform output:", output["Body"].read().decode().split())

endpoint.delete()
for config in (f"{name}-one", f"{name}-two"):
    EndpointConfig.get(endpoint_config_name=config).delete()
first.delete()
second.delete()
print("deleted")
