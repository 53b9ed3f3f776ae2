"""SDK v3 ``sagemaker.train.ModelTrainer`` against the service."""

from __future__ import annotations


def test_model_trainer_trains_the_builtin_xgboost_image_on_csv(run_v3_program):
    """ModelTrainer(training_image=...).train() creates the job and waits for it (sagemaker-train 1.27
    ``ModelTrainer.train``); the artifact lands under the session's default bucket."""
    out = run_v3_program("model_trainer_xgboost.py")
    assert "status: Completed" in out
    assert out.split("artifact: ")[1].split("\n")[0].endswith("/output/model.tar.gz")
    assert "('num_round', '20')" in out


def test_model_trainer_runs_source_code_with_requirements_on_the_sklearn_image(run_v3_program):
    """SourceCode(source_dir, entry_script, requirements) on a framework image: the SDK sends
    ContainerEntrypoint ["/bin/bash"] and its own drivers (sagemaker-train 1.27, train/templates.py:
    install the requirements, then ``python train.py --alpha 0.01``), which the job runs."""
    out = run_v3_program("model_trainer_source_code.py")
    assert "status: Completed" in out
    assert "entrypoint: ['/bin/bash']" in out
    assert "log: Installing requirements" in out and "Requirement already satisfied: scikit-learn" in out
    assert "train.py --alpha 0.01" in out
    assert "log: coefficients: 2.00 1.00 alpha=0.01" in out
