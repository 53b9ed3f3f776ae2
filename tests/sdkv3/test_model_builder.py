"""SDK v3 ``sagemaker.serve.ModelBuilder`` against the service."""

from __future__ import annotations


def test_model_builder_deploys_a_model_trainers_artifact(run_v3_program):
    """``ModelBuilder(model=<ModelTrainer>, image_uri=...)``: ``build()`` is CreateModel with the job's
    S3ModelArtifacts, ``deploy()`` CreateEndpointConfig + CreateEndpoint (sagemaker-serve 1.27
    model_builder.py); the returned Endpoint invokes the built-in XGBoost server."""
    out = run_v3_program("model_builder.py")
    assert "model image: 683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1" in out
    assert out.split("model data: ")[1].split("\n")[0].endswith("/output/model.tar.gz")
    assert "endpoint: InService" in out
    predictions = out.split("predictions: ")[1].split("\n")[0].strip("[]").replace("'", "").split(", ")
    assert abs(float(predictions[0]) - 3.0) < 0.5 and abs(float(predictions[1]) - 10.0) < 0.5
    assert out.rstrip().endswith("deleted")
