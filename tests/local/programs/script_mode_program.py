"""A script-mode program as a learner would write it: only ``helpers.connect()`` and the SDK.

Trains its own scikit-learn script, deploys it with its own inference handlers, predicts, runs a
batch transform, tunes over the metric the script prints; then a PyTorch script and an XGBoost
script (framework mode) trained, deployed and transformed, and the SDK's ``ModelTrainer`` with a
``SourceCode``; and cleans up. It prints one line per step.
"""

import tempfile
import textwrap
from pathlib import Path

import numpy as np
from sagemaker.modules.configs import InputData, SourceCode
from sagemaker.modules.train import ModelTrainer
from sagemaker.pytorch import PyTorch
from sagemaker.serializers import CSVSerializer
from sagemaker.sklearn import SKLearn
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner
from sagemaker.xgboost import XGBoost

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

TORCH_TRAIN = """
import argparse, os

import numpy as np
import torch

# The estimator's deploy() serves this same file: the training code runs only as a program.
if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args()
    data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "data.csv"), delimiter=",")
    x = torch.tensor(data[:, 1:], dtype=torch.float32)
    y = torch.tensor(data[:, :1], dtype=torch.float32)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(args.epochs):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
    print(f"train mse: {loss.item():.6f}")
    torch.jit.script(model).save(os.path.join(os.environ["SM_MODEL_DIR"], "model.pt"))
"""

XGB_TRAIN = """
import argparse, os

import numpy as np
import xgboost as xgb


def model_fn(model_dir):
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, "model.json"))
    return booster


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--num_round", type=int, default=10)
    args = parser.parse_args()
    load = lambda ch: np.loadtxt(os.path.join(os.environ[f"SM_CHANNEL_{ch}"], "data.csv"), delimiter=",")
    train, validation = load("TRAIN"), load("VALIDATION")
    dtrain = xgb.DMatrix(train[:, 1:], label=train[:, 0])
    dval = xgb.DMatrix(validation[:, 1:], label=validation[:, 0])
    booster = xgb.train({"max_depth": 2, "eta": 0.3}, dtrain, args.num_round, evals=[(dval, "validation")])
    booster.save_model(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"))
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

(work / "torch_src").mkdir()
(work / "torch_src" / "train.py").write_text(textwrap.dedent(TORCH_TRAIN))
pytorch = PyTorch(
    entry_point="train.py",
    source_dir=str(work / "torch_src"),
    framework_version="2.1",
    py_version="py310",
    role=role,
    instance_count=1,
    instance_type="ml.m5.large",
    hyperparameters={"epochs": 300},
    sagemaker_session=session,
)
pytorch.fit({"train": channels["train"]}, logs=False)
torch_predictor = pytorch.deploy(initial_instance_count=1, instance_type="ml.m5.large")
try:
    # The PyTorch inference defaults: NPY in and out, the TorchScript model.pt the script saved.
    torch_answer = torch_predictor.predict(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32))
    print("pytorch predictions:", " ".join(f"{v:.2f}" for v in np.ravel(torch_answer)))
finally:
    torch_predictor.delete_model()
    torch_predictor.delete_endpoint()

(work / "xgb_src").mkdir()
(work / "xgb_src" / "train.py").write_text(textwrap.dedent(XGB_TRAIN))
xgb = XGBoost(
    entry_point="train.py",
    source_dir=str(work / "xgb_src"),
    framework_version="1.7-1",
    role=role,
    instance_count=1,
    instance_type="ml.m5.large",
    hyperparameters={"num_round": 50},
    sagemaker_session=session,
)
xgb.fit(channels, logs=False)
xgb_predictor = xgb.deploy(initial_instance_count=1, instance_type="ml.m5.large", serializer=CSVSerializer())
try:
    # XGBoostPredictor reads the CSV answer into rows of strings.
    xgb_answer = [float(v) for row in xgb_predictor.predict("1,0,0\n0,1,0") for v in row]
    print("xgboost predictions:", " ".join(f"{v:.2f}" for v in xgb_answer))
finally:
    xgb_predictor.delete_model()
    xgb_predictor.delete_endpoint()

trainer = ModelTrainer(
    training_image=estimator.training_image_uri(),
    source_code=SourceCode(source_dir=str(work / "src"), entry_script="train.py"),
    role=role,
    sagemaker_session=helpers.trainer_session(session),
    base_job_name="script-program-trainer",
)
trainer.train(
    input_data_config=[
        InputData(channel_name="train", data_source=channels["train"]),
        InputData(channel_name="validation", data_source=channels["validation"]),
    ],
    wait=True,
    logs=False,
)
print("model trainer:", trainer._latest_training_job.training_job_status)

print("done")
