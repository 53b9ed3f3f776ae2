"""SDK v3 ``ModelBuilder`` deploys what a ``ModelTrainer`` trained (built-in XGBoost) to an endpoint."""

from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, InputData
from v3_common import ROLE, XGBOOST_IMAGE, regression_csv, session, unique, upload

sm_session = session()
train_uri = upload(sm_session, "builder/train/data.csv", regression_csv())
trainer = ModelTrainer(
    training_image=XGBOOST_IMAGE,
    role=ROLE,
    sagemaker_session=sm_session,
    base_job_name=unique("v3-built"),
    compute=Compute(instance_type="ml.m5.large", instance_count=1),
    hyperparameters={"num_round": 20, "objective": "reg:squarederror"},
)
train = InputData(channel_name="train", data_source=train_uri, content_type="text/csv")
trainer.train(input_data_config=[train], logs=False)

builder = ModelBuilder(
    model=trainer,
    image_uri=XGBOOST_IMAGE,
    role_arn=ROLE,
    sagemaker_session=sm_session,
    instance_type="ml.m5.large",
)
model = builder.build(model_name=unique("v3-built-model"))
print("model image:", model.primary_container.image)
print("model data:", model.primary_container.model_data_url)
# deploy(wait=True) polls every 30 s; the endpoint resource's own wait polls as often as asked.
endpoint = builder.deploy(endpoint_name=unique("v3-built-ep"), initial_instance_count=1, wait=False)
endpoint.wait_for_status("InService", poll=1)
print("endpoint:", endpoint.endpoint_status)
answer = endpoint.invoke(body="1.0,1.0\n4.0,2.0", content_type="text/csv")
print("predictions:", answer.body.read().decode().split())
endpoint.delete()
print("deleted")
