"""SDK v3 ``ModelTrainer`` with the built-in XGBoost image on a tiny CSV."""

from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, InputData
from v3_common import ROLE, XGBOOST_IMAGE, regression_csv, session, unique, upload

sm_session = session()
train_uri = upload(sm_session, "xgb/train/data.csv", regression_csv())
trainer = ModelTrainer(
    training_image=XGBOOST_IMAGE,
    role=ROLE,
    sagemaker_session=sm_session,
    base_job_name=unique("v3-xgb"),
    compute=Compute(instance_type="ml.m5.large", instance_count=1),
    hyperparameters={"num_round": 20, "objective": "reg:squarederror", "max_depth": 3},
)
train = InputData(channel_name="train", data_source=train_uri, content_type="text/csv")
trainer.train(input_data_config=[train], logs=False)
job = trainer._latest_training_job
job.refresh()
print("status:", job.training_job_status)
print("artifact:", job.model_artifacts.s3_model_artifacts)
print("hyperparameters:", sorted(job.hyper_parameters.items()))
