"""SDK v3 ``sagemaker.train.tuner.HyperparameterTuner`` against the service."""

from __future__ import annotations


def test_tuner_over_a_model_trainer_finds_the_best_training_job(run_v3_program):
    """``tune()`` sends CreateHyperParameterTuningJob built from the ModelTrainer (sagemaker-train 1.27
    tuner.py ``_start_tuning_job``); ``best_training_job()`` reads BestTrainingJob, whose objective is
    XGBoost's ``validation:rmse`` and whose TunedHyperParameters are the two ranges."""
    out = run_v3_program("hyperparameter_tuner.py")
    assert "tuning: Completed" in out and "completed jobs: 2" in out
    best = out.split("best: ")[1].split("\n")[0].split()
    assert best[0].startswith("v3-tune-") and best[1] == "validation:rmse"
    assert float(out.split("best value: ")[1].split("\n")[0]) < 1.0
    assert "tuned: ['eta', 'max_depth']" in out
