"""What a PyTorch script-mode job costs against ``python train.py``: mostly ``import torch``.

The same PyTorch script (a linear model, 2 epochs on 300 rows, saved as TorchScript) three ways,
each ``--runs`` times, medians printed:

* ``python train.py --epochs 2`` in a fresh interpreter, given the SM_* environment of a finished job;
* ``python -m helpers.local.images.pytorch train`` on a copy of that job's folder (a fresh
  interpreter: the toolkit layer plus ``import torch``);
* CreateTrainingJob → Completed through the service, the container forked from the image's warm
  process (torch imported there once), client-observed with 10 ms polling.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from _service import ROOT, running_service

SCRIPT = b"""
import argparse, os
import numpy as np
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=1)
args = parser.parse_args()
data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",", dtype=np.float32)
x, y = torch.from_numpy(data[:, 1:]), torch.from_numpy(data[:, :1])
model = torch.nn.Linear(x.shape[1], 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for epoch in range(args.epochs):
    for start in range(0, len(x), 50):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x[start:start + 50]), y[start:start + 50])
        loss.backward()
        optimizer.step()
    print("epoch=%d train_loss=%.5f" % (epoch, loss.item()))
torch.jit.script(model).save(os.path.join(os.environ["SM_MODEL_DIR"], "model.pt"))
"""


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    import numpy as np
    import sagemaker

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    rows = np.column_stack([1 + 2 * x[:, 0] - x[:, 1], x])
    csv = "\n".join(",".join(f"{v:.5f}" for v in row) for row in rows).encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("train.py")
        info.size = len(SCRIPT)
        tar.addfile(info, io.BytesIO(SCRIPT))

    with running_service() as (config, session):
        s3, sm = (session.client(name, endpoint_url=config.url) for name in ("s3", "sagemaker"))
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="train/train.csv", Body=csv)
        s3.put_object(Bucket="bench", Key="code/sourcedir.tar.gz", Body=archive.getvalue())
        image = sagemaker.image_uris.retrieve(
            "pytorch",
            config.region,
            "2.1",
            py_version="py310",
            instance_type="ml.m5.large",
            image_scope="training",
        )
        request = {
            "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::123456789012:role/bench",
            "HyperParameters": {
                "epochs": "2",
                "sagemaker_program": '"train.py"',
                "sagemaker_submit_directory": '"s3://bench/code/sourcedir.tar.gz"',
            },
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bench/train/"}},
                }
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://bench/output"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        }
        jobs = []
        for run in range(runs + 1):  # the first job is spawned and starts the image's warm process
            name = f"bench-pytorch-{run}"
            started = time.perf_counter()
            sm.create_training_job(TrainingJobName=name, **request)
            while sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress":
                time.sleep(0.01)
            jobs.append(time.perf_counter() - started)
            status = sm.describe_training_job(TrainingJobName=name)
            assert status["TrainingJobStatus"] == "Completed", status.get("FailureReason")
            if run == 0:
                time.sleep(15)  # let the warm process finish importing torch
        job_root = config.work_dir / "training-jobs" / f"bench-pytorch-{runs}"

        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch) / "ml"
            shutil.copytree(job_root, root)
            data = root / "input" / "data" / "train"
            data.mkdir(parents=True, exist_ok=True)
            (data / "train.csv").write_bytes(csv)
            base = dict(os.environ, PYTHONPATH=str(ROOT), SAGEMAKER_OPT_ML=str(root))
            sys.path.insert(0, str(ROOT))
            from helpers.local.images.toolkit.container import load_training_environment
            from helpers.local.images.toolkit.script_mode import training_env_vars

            sm_env = dict(base, **training_env_vars(load_training_environment(root), "bench"))
            direct = [
                timed([sys.executable, "train.py", "--epochs", "2"], root / "code", sm_env)
                for _ in range(runs)
            ]
            image_cmd = [sys.executable, "-m", "helpers.local.images.pytorch", "train"]
            toolkit = [timed(image_cmd, root, base) for _ in range(runs)]

    print(json.dumps({"runs": runs, "load": os.getloadavg()[0]}))
    print(f"python train.py (fresh interpreter)            {statistics.median(direct):.3f} s")
    print(f"python -m ...pytorch train (fresh interpreter)  {statistics.median(toolkit):.3f} s")
    print(f"first job Create -> Completed (spawned)         {jobs[0]:.3f} s")
    print(f"job Create -> Completed (forked, warm)          {statistics.median(jobs[1:]):.3f} s")


if __name__ == "__main__":
    main()
