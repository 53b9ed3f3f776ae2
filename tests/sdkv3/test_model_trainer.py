"""SDK v3 ``sagemaker.train.ModelTrainer`` against the service."""

from __future__ import annotations


def test_model_trainer_trains_the_builtin_xgboost_image_on_csv(run_v3_program):
    """ModelTrainer(training_image=...).train() creates the job and waits for it (sagemaker-train 1.27
    ``ModelTrainer.train``); the artifact lands under the session's default bucket."""
    out = run_v3_program("model_trainer_xgboost.py")
    assert "status: Completed" in out
    assert out.split("artifact: ")[1].split("\n")[0].endswith("/output/model.tar.gz")
    assert "('num_round', '20')" in out
