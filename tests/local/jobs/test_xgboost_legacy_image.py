"""The legacy XGBoost image (``xgboost:1``, 0.72) as the original course runs it through the service."""

from __future__ import annotations

import numpy as np


def test_legacy_image_trains_with_silent_and_answers_comma_joined(service, s3, bucket):
    """The original course: ``get_image_uri(region, 'xgboost')`` (``xgboost:1``), ``silent=0`` among the
    hyperparameters, and ``np.fromstring(result, sep=',')`` on the endpoint's CSV answer (the 0.72 image
    joins predictions with commas; developer guide "XGBoost Release 0.72")."""
    import sagemaker
    from sagemaker.estimator import Estimator
    from sagemaker.serializers import CSVSerializer

    import helpers

    session, role = helpers.connect("local")
    image = sagemaker.image_uris.retrieve("xgboost", session.boto_region_name, "1")
    assert image.endswith("/xgboost:1")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 3))
    y = 5 + 2 * x[:, 0]
    body = "\n".join(",".join(f"{v:.5f}" for v in row) for row in np.column_stack([y, x]))
    s3.put_object(Bucket=bucket, Key="legacy-xgboost/train/train.csv", Body=body.encode())
    estimator = Estimator(
        image,
        role,
        instance_count=1,
        instance_type="ml.m4.xlarge",
        output_path=f"s3://{bucket}/legacy-xgboost/output",
        sagemaker_session=session,
    )
    estimator.set_hyperparameters(max_depth=3, eta=0.3, silent=0, objective="reg:linear", num_round=20)
    train = sagemaker.inputs.TrainingInput(f"s3://{bucket}/legacy-xgboost/train/", content_type="text/csv")
    estimator.fit({"train": train}, logs=False)

    predictor = estimator.deploy(1, "ml.m4.xlarge", serializer=CSVSerializer())
    try:
        result = predictor.predict(x[:5]).decode("utf-8")
    finally:
        predictor.delete_endpoint()
    predictions = np.fromstring(result, sep=",")
    assert "\n" not in result and len(predictions) == 5
    assert np.abs(predictions - y[:5]).max() < 1.5
