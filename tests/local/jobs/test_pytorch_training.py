"""The PyTorch training image through the SDK: ``PyTorch(entry_point=..., source_dir=...).fit(...)``.

Followed: aws/sagemaker-pytorch-training-toolkit ``sagemaker_pytorch_container/training.py`` (MASTER_ADDR
= the first host, MASTER_PORT 7777, then the training toolkit's ``entry_point.run``) and
aws/sagemaker-training-toolkit for the script's contract (``mapping.to_cmd_args``, ``SM_*`` from
``Environment.to_env_vars``, ``errors.ExecuteUserScriptError``); the SDK's ``image_uris`` config
``pytorch.json`` for the ``pytorch-training`` repository.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import textwrap
from pathlib import Path

import pytest
from sagemaker.exceptions import UnexpectedStatusException

from helpers.local.containers.processes import PROCESSES
from helpers.local.containers.runner import WARM_IMAGES, Container
from helpers.local.containers.warm import ForkedProcess

PYTORCH = "helpers.local.images.pytorch"

TRAIN_SCRIPT = """
import argparse, json, os

import numpy as np
import torch

# Guarded: the same file is the inference script of estimator.deploy(), imported by the model server.
if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=0.01)
    args = parser.parse_args()

    train_csv = os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv")
    data = np.loadtxt(train_csv, delimiter=",", dtype=np.float32)
    x, y = torch.from_numpy(data[:, 1:]), torch.from_numpy(data[:, :1])
    torch.manual_seed(0)
    model = torch.nn.Linear(x.shape[1], 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        for start in range(0, len(x), 50):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x[start:start + 50]), y[start:start + 50])
            loss.backward()
            optimizer.step()
        print(f"epoch={epoch} train_loss={loss.item():.5f}", flush=True)
    torch.jit.script(model).save(os.path.join(os.environ["SM_MODEL_DIR"], "model.pt"))

    seen = {
        "argv": os.sys.argv[1:],
        "env": {k: v for k, v in os.environ.items() if k.startswith(("SM_", "MASTER_"))},
        "threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "torch": torch.__version__,
    }
    with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "seen.json"), "w") as f:
        json.dump(seen, f)
"""


def _source_dir(tmp_path: Path, files: dict[str, str]) -> str:
    folder = tmp_path / "src"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return str(folder)


@pytest.fixture(scope="module")
def train_uri(s3, bucket) -> str:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = 1 + 2 * x[:, 0] - x[:, 1]
    body = "\n".join(",".join(f"{v:.5f}" for v in row) for row in np.column_stack([y, x]))
    s3.put_object(Bucket=bucket, Key="pytorch/train/train.csv", Body=body.encode())
    return f"s3://{bucket}/pytorch/train/"


def _estimator(source_dir: str, bucket: str, **kwargs):
    from sagemaker.pytorch import PyTorch

    import helpers

    session, role = helpers.connect("local")
    return PyTorch(
        entry_point="train.py",
        source_dir=source_dir,
        framework_version="2.1",
        py_version="py310",
        role=role,
        instance_type="ml.m5.large",
        instance_count=1,
        output_path=f"s3://{bucket}/pytorch/output",
        sagemaker_session=session,
        **kwargs,
    )


def _tar_members(s3, uri: str) -> dict[str, bytes]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_a_pytorch_script_trains_saves_its_model_and_deploys(service, sm, s3, bucket, train_uri, tmp_path):
    import numpy as np
    import torch

    estimator = _estimator(
        _source_dir(tmp_path, {"train.py": TRAIN_SCRIPT}),
        bucket,
        hyperparameters={"epochs": 2, "lr": 0.05},
        metric_definitions=[{"Name": "train:loss", "Regex": "train_loss=([0-9.]+)"}],
    )
    assert "/pytorch-training:" in estimator.training_image_uri()
    estimator.fit({"train": train_uri}, logs=False)

    job = estimator.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert [m["MetricName"] for m in job["FinalMetricDataList"]] == ["train:loss"]
    # The model is the script's TorchScript file, loadable as the inference image loads it.
    model = torch.jit.load(io.BytesIO(_tar_members(s3, estimator.model_data)["model.pt"]))
    assert model(torch.zeros(1, 3)).shape == (1, 1)

    output = estimator.model_data.replace("model.tar.gz", "output.tar.gz")
    seen = json.loads(_tar_members(s3, output)["seen.json"])
    assert seen["argv"] == ["--epochs", "2", "--lr", "0.05"]
    env = seen["env"]
    assert json.loads(env["SM_HPS"]) == {"epochs": 2, "lr": 0.05}
    assert env["SM_USER_ENTRY_POINT"] == "train.py" and env["SM_CHANNELS"] == '["train"]'
    assert env["SM_FRAMEWORK_MODULE"].endswith("pytorch.train:train")
    assert Path(env["SM_MODEL_DIR"]).name == "model"
    assert env["MASTER_ADDR"] == "algo-1" and env["MASTER_PORT"] == "7777"
    # torch runs with the container's CPU share, whether the container was forked or spawned.
    assert seen["threads"] == int(seen["omp_num_threads"])
    assert seen["torch"] == torch.__version__

    # The estimator's model serves with the inference image's defaults: model.pt is TorchScript.
    predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    try:
        config = sm.describe_endpoint(EndpointName=predictor.endpoint_name)["EndpointConfigName"]
        variant = sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]
        image = sm.describe_model(ModelName=variant["ModelName"])["PrimaryContainer"]["Image"]
        assert "/pytorch-inference:" in image
        answer = predictor.predict(np.zeros((2, 3), dtype=np.float32))
        assert answer.shape == (2, 1)
        assert answer.ravel() == pytest.approx(model(torch.zeros(2, 3)).detach().numpy().ravel(), abs=1e-5)
    finally:
        predictor.delete_endpoint()


def test_a_failing_pytorch_script_fails_the_job_with_the_toolkit_error(service, bucket, train_uri, tmp_path):
    script = """
    import torch
    torch.zeros(2, 3) @ torch.zeros(2, 3)
    """
    estimator = _estimator(_source_dir(tmp_path, {"train.py": script}), bucket)
    with pytest.raises(UnexpectedStatusException):
        estimator.fit({"train": train_uri}, logs=False)
    reason = estimator.latest_training_job.describe()["FailureReason"]
    assert reason.startswith('AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage "')
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied" in reason


THREADS_SCRIPT = """
import json, os, torch
print(json.dumps({"threads": torch.get_num_threads(), "sum": float(torch.ones(1000).sum())}))
"""


def _script_folder(root: Path) -> Path:
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({"sagemaker_program": '"train.py"'})
    )
    (root / "input" / "config" / "inputdataconfig.json").write_text("{}")
    (root / "model").mkdir()
    (root / "code").mkdir()
    (root / "code" / "train.py").write_text(THREADS_SCRIPT)
    return root


def test_forked_pytorch_containers_take_their_thread_share(tmp_path):
    """The warm process imports torch but runs nothing; each forked container sizes torch's pool."""
    threads = "1"  # not torch's default on a machine of several cores
    environment = {"OMP_NUM_THREADS": threads}
    try:
        assert WARM_IMAGES.warm(PYTORCH, {**os.environ, **environment}, timeout=120)
        zygote = WARM_IMAGES.process(PYTORCH, {**os.environ, **environment})
        assert zygote is not None
        assert len(os.listdir(f"/proc/{zygote.pid}/task")) == 1  # no torch or OpenMP thread before a fork
        lines: list[str] = []
        container = Container(PYTORCH, "train", _script_folder(tmp_path / "ml"), lines.append, environment)
        assert container.wait() == 0, "".join(lines)
        assert isinstance(container.proc, ForkedProcess)
        report = json.loads(next(line for line in lines if line.startswith('{"threads"')))
        assert report == {"threads": int(threads), "sum": 1000.0}
        assert any(line.startswith("PyTorch ") for line in lines)
    finally:
        PROCESSES.stop_all()
        PROCESSES.track_in(None)
