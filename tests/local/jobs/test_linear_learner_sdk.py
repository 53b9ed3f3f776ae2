"""The SDK's first-party ``sagemaker.LinearLearner`` as users run it: ``record_set``, fit, deploy, predict."""

from __future__ import annotations

import numpy as np


def test_linear_learner_estimator_trains_on_record_set_and_predicts_protobuf(service, bucket):
    """``LinearLearner.record_set`` uploads recordIO-protobuf shards and a ``ManifestFile``
    (sagemaker/amazon/amazon_estimator.py ``upload_numpy_to_s3_shards``); ``normalize_data=True`` is sent
    as 'True'; ``deploy().predict(ndarray)`` sends and reads recordIO-protobuf (``LinearLearnerPredictor``:
    ``RecordSerializer``/``RecordDeserializer``), each record's label holding ``score`` and
    ``predicted_label``."""
    from sagemaker import LinearLearner

    import helpers

    session, role = helpers.connect("local")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype("float32")
    y = (x[:, 0] - x[:, 1] > 0).astype("float32")
    estimator = LinearLearner(
        role=role,
        instance_count=1,
        instance_type="ml.m5.large",
        predictor_type="binary_classifier",
        normalize_data=True,
        epochs=5,
        output_path=f"s3://{bucket}/linear-learner-sdk/output",
        data_location=f"s3://{bucket}/linear-learner-sdk/data",
        sagemaker_session=session,
    )
    records = estimator.record_set(x, labels=y)
    assert records.s3_data_type == "ManifestFile"
    estimator.fit(records, logs=False)
    assert estimator.latest_training_job.describe()["TrainingJobStatus"] == "Completed"

    predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    try:
        answers = predictor.predict(x[:20])
    finally:
        predictor.delete_endpoint()
    labels = np.array([a.label["predicted_label"].float32_tensor.values[0] for a in answers])
    scores = np.array([a.label["score"].float32_tensor.values[0] for a in answers])
    assert len(answers) == 20
    assert ((scores > 0.5) == (labels == 1)).all()
    assert (labels == y[:20]).mean() >= 0.8
