"""A script-mode program as a learner would write it: only ``helpers.connect()`` and the SDK.

Trains its own scikit-learn script, deploys it with its own inference handlers, predicts, runs a
batch transform, tunes over the metric the script prints and cleans up. It prints one line per step.
"""

import tempfile
import textwrap
from pathlib import Path

import numpy as np
from sagemaker.sklearn import SKLearn
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner

import helpers

TRAIN = """
import argparse, os

import joblib
import numpy as np
from sklearn.linear_model import Ridge


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(body, content_type):
    # "x1 x2 x3" per line, as text
    text = body.decode() if isinstance(body, bytes) else body
    return np.array([[float(v) for v in line.split()] for line in text.strip().splitlines()])


def output_fn(prediction, accept):
    return " ".join(f"{v:.2f}" for v in prediction), "text/plain"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--alpha", type=float, default=1.0)
    args = parser.parse_args()
    load = lambda ch: np.loadtxt(os.path.join(os.environ[f"SM_CHANNEL_{ch}"], "data.csv"), delimiter=",")
    train, validation = load("TRAIN"), load("VALIDATION")
    model = Ridge(alpha=args.alpha).fit(train[:, 1:], train[:, 0])
    rmse = float(np.sqrt(np.mean((model.predict(validation[:, 1:]) - validation[:, 0]) ** 2)))
    print(f"validation rmse: {rmse:.6f}")
    joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
"""

session, role = helpers.connect()
bucket = session.default_bucket()
work = Path(tempfile.mkdtemp())
(work / "src").mkdir()
(work / "src" / "train.py").write_text(textwrap.dedent(TRAIN))

rng = np.random.default_rng(5)
channels = {}
for name, rows in (("train", 80), ("validation", 40)):
    x = rng.normal(size=(rows, 3))
    y = 1 + 2 * x[:, 0] - x[:, 1] + 0.05 * rng.normal(size=rows)
    (work / name).mkdir()
    np.savetxt(work / name / "data.csv", np.column_stack([y, x]), delimiter=",", fmt="%.5f")
    channels[name] = session.upload_data(str(work / name), bucket, f"script-program/{name}")
(work / "batch.txt").write_text("1 0 0\n0 1 0\n")
batch_input = session.upload_data(str(work / "batch.txt"), bucket, "script-program/batch")

estimator = SKLearn(
    entry_point="train.py",
    source_dir=str(work / "src"),
    framework_version="1.2-1",
    role=role,
    instance_type="ml.m5.large",
    hyperparameters={"alpha": 0.1},
    metric_definitions=[{"Name": "validation:rmse", "Regex": "validation rmse: ([0-9.]+)"}],
    sagemaker_session=session,
)
estimator.fit(channels, logs=False)
print("training:", estimator.latest_training_job.describe()["TrainingJobStatus"])

predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large")
try:
    answer = session.sagemaker_runtime_client.invoke_endpoint(
        EndpointName=predictor.endpoint_name, ContentType="text/plain", Body=b"1 0 0\n0 1 0"
    )
    print("predictions:", answer["Body"].read().decode())
finally:
    predictor.delete_model()
    predictor.delete_endpoint()
    print("endpoint deleted")

transformer = estimator.transformer(
    instance_count=1,
    instance_type="ml.m5.large",
    output_path=f"s3://{bucket}/script-program/transform",
    accept="text/plain",
)
transformer.transform(batch_input, content_type="text/plain", split_type=None, logs=False)
transformer.wait(logs=False)
output = session.read_s3_file(bucket, "script-program/transform/batch.txt.out")
print("transform:", output)

tuner = HyperparameterTuner(
    estimator,
    objective_metric_name="validation:rmse",
    objective_type="Minimize",
    metric_definitions=[{"Name": "validation:rmse", "Regex": "validation rmse: ([0-9.]+)"}],
    hyperparameter_ranges={"alpha": ContinuousParameter(0.01, 50.0, scaling_type="Logarithmic")},
    max_jobs=2,
    max_parallel_jobs=2,
    strategy="Random",
)
tuner.fit(channels, logs=False)
print("tuning best:", tuner.best_training_job())

# PyTorch and XGBoost framework-mode steps go here, in the same shape, once those images exist.

print("done")
