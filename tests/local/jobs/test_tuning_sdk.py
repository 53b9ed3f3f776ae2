"""Hyperparameter tuning through the SageMaker Python SDK: HyperparameterTuner fit, attach, analytics."""

from __future__ import annotations

import pytest

from tests.local.jobs.tuning_requests import upload_tuning_data


@pytest.fixture(scope="module")
def data(s3, bucket):
    return upload_tuning_data(s3, bucket)


def test_sdk_tuner_fit_attach_best_job_and_analytics(service, data):
    import sagemaker
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

    import helpers

    session, role = helpers.connect("local")
    estimator = Estimator(
        sagemaker.image_uris.retrieve("xgboost", session.boto_region_name, "1.7-1"),
        role,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{data}/sdk-tuning",
        sagemaker_session=session,
    )
    estimator.set_hyperparameters(objective="reg:squarederror", num_round=5)
    tuner = HyperparameterTuner(
        estimator,
        "validation:rmse",
        {"max_depth": IntegerParameter(2, 5), "eta": ContinuousParameter(0.1, 0.5)},
        objective_type="Minimize",
        max_jobs=3,
        max_parallel_jobs=2,
        strategy="Bayesian",
        random_seed=3,
        base_tuning_job_name="sdk-tuning",
    )
    channel = lambda c: TrainingInput(f"s3://{data}/tuning/{c}", content_type="text/csv")  # noqa: E731
    tuner.fit({"train": channel("train"), "validation": channel("validation")})
    tuner.wait()

    best = tuner.best_training_job()
    attached = HyperparameterTuner.attach(tuner.latest_tuning_job.name, sagemaker_session=session)
    assert attached.best_training_job() == best
    assert attached.strategy == "Bayesian" and attached.max_jobs == 3
    best_estimator = Estimator.attach(best, sagemaker_session=session)
    assert best_estimator.model_data.endswith(f"/{best}/output/model.tar.gz")

    table = tuner.analytics().dataframe()
    assert len(table) == 3 and set(table["TrainingJobStatus"]) == {"Completed"}
    assert (
        table["FinalObjectiveValue"].min()
        == table.loc[table["TrainingJobName"] == best, "FinalObjectiveValue"].iloc[0]
    )
    assert table["max_depth"].between(2, 5).all() and table["eta"].between(0.1, 0.5).all()
