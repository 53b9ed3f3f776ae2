"""SDK v3 ``HyperparameterTuner`` over a ``ModelTrainer`` with the built-in XGBoost image."""

from sagemaker.core.parameter import ContinuousParameter, IntegerParameter
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, InputData
from sagemaker.train.tuner import HyperparameterTuner
from v3_common import ROLE, XGBOOST_IMAGE, regression_csv, session, unique, upload

sm_session = session()
train_uri = upload(sm_session, "tuner/train/data.csv", regression_csv())
validation_uri = upload(sm_session, "tuner/validation/data.csv", regression_csv(rows=40))
trainer = ModelTrainer(
    training_image=XGBOOST_IMAGE,
    role=ROLE,
    sagemaker_session=sm_session,
    base_job_name=unique("v3-tuned"),
    compute=Compute(instance_type="ml.m5.large", instance_count=1),
    hyperparameters={"num_round": 10, "objective": "reg:squarederror"},
)
tuner = HyperparameterTuner(
    model_trainer=trainer,
    objective_metric_name="validation:rmse",
    objective_type="Minimize",
    hyperparameter_ranges={"max_depth": IntegerParameter(2, 5), "eta": ContinuousParameter(0.1, 0.5)},
    strategy="Random",
    max_jobs=2,
    max_parallel_jobs=2,
)
tuner.tune(
    inputs=[
        InputData(channel_name="train", data_source=train_uri, content_type="text/csv"),
        InputData(channel_name="validation", data_source=validation_uri, content_type="text/csv"),
    ],
    job_name=unique("v3-tune"),
    wait=False,
)
job = tuner.latest_tuning_job
job.wait(poll=1)
job.refresh()
print("tuning:", job.hyper_parameter_tuning_job_status)
print("completed jobs:", job.training_job_status_counters.completed)
best = job.best_training_job
print("best:", tuner.best_training_job(), best.final_hyper_parameter_tuning_job_objective_metric.metric_name)
print("best value:", best.final_hyper_parameter_tuning_job_objective_metric.value)
print("tuned:", sorted(best.tuned_hyper_parameters))
