"""The SDK's own clients over script mode: tuning, dependencies, git_config, attach, and bad input.

Followed: the SDK's ``HyperparameterTuner`` (objective read by the job's ``metric_definitions``
regex from the script's own log lines), ``fw_utils.tar_and_upload_dir`` (``dependencies`` become
top-level folders of sourcedir.tar.gz, beside the entry point, importable from it), ``git_utils``
(``git_config`` clones the repository and takes ``source_dir``/``entry_point`` inside it),
``Framework.attach``; aws/sagemaker-training-toolkit (a script that does not run is an
``ExecuteUserScriptError``) and aws/sagemaker-scikit-learn-container ``serving.py`` (no script and
no ``model_fn``: "Please provide a model_fn implementation").
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest
from sagemaker.exceptions import UnexpectedStatusException

REGRESSION_SCRIPT = """
import argparse, os

import joblib
import numpy as np
from sklearn.linear_model import Ridge

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float, default=1.0)
args = parser.parse_args()

def load(channel):
    return np.loadtxt(os.path.join(os.environ[f"SM_CHANNEL_{channel.upper()}"], "data.csv"), delimiter=",")

train, validation = load("train"), load("validation")
model = Ridge(alpha=args.alpha).fit(train[:, 1:], train[:, 0])
rmse = float(np.sqrt(np.mean((model.predict(validation[:, 1:]) - validation[:, 0]) ** 2)))
print(f"validation rmse: {rmse:.6f}")
joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
"""

INFERENCE_SCRIPT = """
import os
import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return folder


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    return _write(tmp_path / f"src-{uuid.uuid4().hex[:6]}", files)


@pytest.fixture(scope="module")
def channels(s3, bucket) -> dict[str, str]:
    rng = np.random.default_rng(3)
    uris = {}
    for channel, rows in (("train", 60), ("validation", 30)):
        x = rng.normal(size=(rows, 3))
        y = 2 * x[:, 0] - x[:, 1] + 0.5 * x[:, 2] + 0.05 * rng.normal(size=rows)
        body = "\n".join(",".join(f"{v:.5f}" for v in row) for row in np.column_stack([y, x]))
        key = f"script-clients/{channel}/data.csv"
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
        uris[channel] = f"s3://{bucket}/script-clients/{channel}/"
    return uris


def _sklearn(bucket: str, **kwargs):
    from sagemaker.sklearn import SKLearn

    import helpers

    session, role = helpers.connect("local")
    kwargs.setdefault("entry_point", "train.py")
    return SKLearn(
        framework_version="1.2-1",
        role=role,
        instance_type="ml.m5.large",
        output_path=f"s3://{bucket}/script-clients/output",
        sagemaker_session=session,
        **kwargs,
    )


def test_tuning_picks_the_best_job_by_the_scripts_own_metric(service, bucket, channels, tmp_path):
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner

    estimator = _sklearn(bucket, source_dir=str(_folder(tmp_path, {"train.py": REGRESSION_SCRIPT})))
    tuner = HyperparameterTuner(
        estimator,
        objective_metric_name="validation:rmse",
        objective_type="Minimize",
        metric_definitions=[{"Name": "validation:rmse", "Regex": "validation rmse: ([0-9.]+)"}],
        hyperparameter_ranges={"alpha": ContinuousParameter(0.01, 100.0, scaling_type="Logarithmic")},
        max_jobs=3,
        max_parallel_jobs=3,
        strategy="Random",
    )
    tuner.fit(channels, logs=False)

    jobs = tuner.analytics().dataframe()
    assert len(jobs) == 3 and set(jobs["TrainingJobStatus"]) == {"Completed"}
    best = tuner.best_training_job()
    assert best == jobs.sort_values("FinalObjectiveValue").iloc[0]["TrainingJobName"]
    # The objective is what the script printed, read back from the best job's own metrics.
    described = tuner.sagemaker_session.sagemaker_client.describe_training_job(TrainingJobName=best)
    metrics = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    assert metrics["validation:rmse"] == pytest.approx(jobs["FinalObjectiveValue"].min(), rel=1e-5)


def test_dependencies_and_an_entry_point_in_a_subfolder(service, s3, bucket, channels, tmp_path):
    library = _folder(tmp_path, {"mylib/__init__.py": "SCALE = 7\n"}) / "mylib"
    source = _folder(
        tmp_path,
        {
            "jobs/train.py": """
            import os
            import helper_module, mylib
            open(os.path.join(os.environ["SM_MODEL_DIR"], "scale.txt"), "w").write(str(mylib.SCALE))
            print("helper says", helper_module.GREETING, "from", os.getcwd())
            """,
            "jobs/helper_module.py": "GREETING = 'hello'\n",
        },
    )
    estimator = _sklearn(
        bucket, source_dir=str(source), entry_point="jobs/train.py", dependencies=[str(library)]
    )
    estimator.fit(channels, logs=False)
    job = estimator.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    key = estimator.model_data.removeprefix(f"s3://{bucket}/")
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        assert tar.extractfile("scale.txt").read() == b"7"


def test_git_config_clones_a_repository_at_its_branch(service, bucket, channels, tmp_path, monkeypatch):
    """The SDK clones only https:// and ssh URLs; git's own ``insteadOf`` points this one at a local repo."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=Learner", "-c", "user.email=learner@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    _write(repo, {"src/train.py": "raise SystemExit('the main branch is not ready')\n"})
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "main"], check=True)
    subprocess.run([*git, "checkout", "-q", "-b", "experiment"], check=True)
    _write(repo, {"src/train.py": REGRESSION_SCRIPT})
    subprocess.run([*git, "commit", "-q", "-am", "experiment"], check=True)
    subprocess.run([*git, "checkout", "-q", "main"], check=True)

    url = "https://git.example.com/learner/course-scripts.git"
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", f"url.{repo.as_uri()}.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", url)
    estimator = _sklearn(
        bucket,
        source_dir="src",
        git_config={"repo": url, "branch": "experiment"},
        hyperparameters={"alpha": 0.1},
    )
    estimator.fit(channels, logs=False)
    assert estimator.latest_training_job.describe()["TrainingJobStatus"] == "Completed"


def test_attach_to_a_finished_job_then_deploy_with_its_code(service, bucket, channels, tmp_path):
    from sagemaker.sklearn import SKLearn

    # One script for both, as the SDK's examples write it: training only under __main__.
    guarded = (
        INFERENCE_SCRIPT + "\n\nif __name__ == '__main__':\n" + textwrap.indent(REGRESSION_SCRIPT, "    ")
    )
    source = _folder(tmp_path, {"train.py": guarded})
    estimator = _sklearn(bucket, source_dir=str(source))
    estimator.fit(channels, logs=False)
    name = estimator.latest_training_job.name

    attached = SKLearn.attach(name, sagemaker_session=estimator.sagemaker_session)
    assert attached.entry_point == "train.py" and attached.model_data == estimator.model_data
    predictor = attached.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    try:
        answer = predictor.predict(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
        assert answer == pytest.approx([2.0, -1.0], abs=0.3)
    finally:
        predictor.delete_endpoint()


def test_a_syntax_error_in_the_entry_point_is_the_toolkits_error(service, bucket, channels, tmp_path):
    estimator = _sklearn(bucket, source_dir=str(_folder(tmp_path, {"train.py": "def broken(:\n    pass\n"})))
    with pytest.raises(UnexpectedStatusException):
        estimator.fit(channels, logs=False)
    reason = estimator.latest_training_job.describe()["FailureReason"]
    assert reason.startswith("AlgorithmError: ExecuteUserScriptError:\nExitCode 1\n")
    assert "SyntaxError" in reason and "train.py" in reason


def test_a_model_without_code_or_program_fails_the_endpoint_and_the_service_goes_on(
    service, sm, s3, bucket, channels, tmp_path
):
    import joblib
    from sklearn.linear_model import LinearRegression

    from helpers.local.core.config import ROLE_ARN
    from tests.service_helpers import unique, wait_for

    weights = io.BytesIO()
    joblib.dump(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), weights)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.joblib")
        info.size = len(weights.getvalue())
        tar.addfile(info, io.BytesIO(weights.getvalue()))
    s3.put_object(Bucket=bucket, Key="script-clients/bare/model.tar.gz", Body=archive.getvalue())
    model = unique("bare-model")
    sm.create_model(
        ModelName=model,
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={
            "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "ModelDataUrl": f"s3://{bucket}/script-clients/bare/model.tar.gz",
        },
    )
    config = unique("bare-config")
    sm.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1,
             "InstanceType": "ml.m5.large"}
        ],
    )  # fmt: skip
    endpoint = unique("bare-endpoint")
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    desc = wait_for(lambda: sm.describe_endpoint(EndpointName=endpoint), "EndpointStatus", timeout=90)
    assert desc["EndpointStatus"] == "Failed"
    assert "Please provide a model_fn implementation" in desc["FailureReason"]

    # The service goes on: a script-mode job right after trains.
    estimator = _sklearn(bucket, source_dir=str(_folder(tmp_path, {"train.py": REGRESSION_SCRIPT})))
    estimator.fit(channels, logs=False)
    assert estimator.latest_training_job.describe()["TrainingJobStatus"] == "Completed"
