"""Script mode's costs: a scikit-learn training job, and an endpoint serving the learner's own script.

Training: the same scikit-learn script (LogisticRegression on 200 rows, model saved with joblib)
three ways, each ``--runs`` times, medians printed:

* ``python train.py -C 0.5`` in a fresh interpreter, given the SM_* environment of a finished job;
* ``python -m helpers.local.images.sklearn train`` on a copy of that job's folder (the toolkit layer
  plus ``runpy``, in a fresh interpreter);
* CreateTrainingJob → Completed through the service, client-observed with 10 ms polling.

Hosting: the Tutorial's Boston model (a 200-tree GradientBoostingRegressor) served with its
``inference.py`` (``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn``) from a
``SAGEMAKER_SUBMIT_DIRECTORY`` archive, as the SDK deploys it:

* CreateEndpoint → InService, p50 over ``--endpoints`` endpoints;
* InvokeEndpoint with one CSV row, ``--requests`` sequential calls through boto3 and as raw HTTP on a
  keep-alive connection, against the same script's ``predict_fn`` (and the whole
  input_fn → predict_fn → output_fn chain) called in-process on the same payload.

Each part runs twice, each on its own service: containers spawned (``SAGEMAKER_LOCAL_WARM_IMAGES=0``,
a fresh interpreter importing scikit-learn each time) and forked from the image's warm process.
The first job of each service (which starts the warm process) is not counted.

Run: ``.venv/bin/python bench/bench_script_mode.py [--runs 5] [--endpoints 5] [--requests 200]``
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
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

from _service import ROOT, running_service, signed_headers

SCRIPT = b"""
import argparse, os
import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

parser = argparse.ArgumentParser()
parser.add_argument("-C", type=float, default=1.0)
args = parser.parse_args()
data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",")
model = LogisticRegression(C=args.C).fit(data[:, 1:], data[:, 0])
joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
print("accuracy=%.4f" % model.score(data[:, 1:], data[:, 0]))
"""
# The Tutorial's inference script (Boston Housing - Script Mode with scikit-learn).
INFERENCE = b"""
import io
import json
import os

import joblib
import numpy as np


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(request_body, content_type):
    if content_type != "text/csv":
        raise ValueError(f"This model reads text/csv, not {content_type}")
    if isinstance(request_body, bytes):
        request_body = request_body.decode("utf-8")
    return np.loadtxt(io.StringIO(request_body), delimiter=",", ndmin=2)


def predict_fn(data, model):
    return model.predict(data)


def output_fn(prediction, accept):
    if accept == "text/csv":
        return "".join(f"{value:.4f}\\n" for value in prediction), "text/csv"
    return json.dumps({"predictions": [round(float(v), 4) for v in prediction]}), "application/json"
"""
ROW = "0.00632,18.0,2.31,0.0,0.538,6.575,65.2,4.09,1.0,296.0,15.3,396.9,4.98"
ROLE = "arn:aws:iam::123456789012:role/bench"


def tar_gz(files: dict[str, bytes]) -> bytes:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive.getvalue()


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def wait(describe, key: str) -> dict:
    while (desc := describe())[key] in ("InProgress", "Creating", "Updating"):
        time.sleep(0.01)
    return desc


def boston_model() -> bytes:
    """The Tutorial's model, trained here on its training split, as a joblib file."""
    import joblib
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.model_selection import train_test_split

    sys.path.insert(0, str(ROOT))
    from helpers.datasets.boston import load_boston

    boston = load_boston()
    x_train, _, y_train, _ = train_test_split(boston.data, boston.target, test_size=0.33, random_state=42)
    model = GradientBoostingRegressor(
        n_estimators=200, learning_rate=0.05, max_depth=3, subsample=0.8, random_state=0
    )
    buffer = io.BytesIO()
    joblib.dump(model.fit(x_train.to_numpy(), y_train.to_numpy()), buffer)
    return buffer.getvalue()


def in_process(model_bytes: bytes, requests: int) -> dict[str, list[float]]:
    """The inference script's functions called directly on the same payload, in this process."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "model.joblib").write_bytes(model_bytes)
        (Path(folder) / "inference.py").write_bytes(INFERENCE)
        spec = importlib.util.spec_from_file_location("bench_inference", Path(folder) / "inference.py")
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        model = script.model_fn(folder)
    body = ROW.encode()
    data = script.input_fn(body, "text/csv")
    predict, chain = [], []
    for _ in range(requests):
        started = time.perf_counter()
        script.predict_fn(data, model)
        predict.append(time.perf_counter() - started)
        started = time.perf_counter()
        script.output_fn(script.predict_fn(script.input_fn(body, "text/csv"), model), "application/json")
        chain.append(time.perf_counter() - started)
    return {"predict_fn": predict, "chain": chain}


def measure(mode: str, args: argparse.Namespace, model_bytes: bytes) -> dict:
    os.environ["SAGEMAKER_LOCAL_WARM_IMAGES"] = "1" if mode == "warm" else "0"
    import numpy as np
    import sagemaker

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    rows = np.column_stack([(x[:, 0] > 0).astype(float), x])
    csv = "\n".join(",".join(f"{v:.5f}" for v in row) for row in rows).encode()
    result: dict = {}
    with running_service() as (config, session):
        s3, sm, runtime = (
            session.client(name, endpoint_url=config.url) for name in ("s3", "sagemaker", "sagemaker-runtime")
        )
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="train/train.csv", Body=csv)
        s3.put_object(Bucket="bench", Key="code/sourcedir.tar.gz", Body=tar_gz({"train.py": SCRIPT}))
        s3.put_object(Bucket="bench", Key="serve/model.tar.gz", Body=tar_gz({"model.joblib": model_bytes}))
        s3.put_object(Bucket="bench", Key="serve/sourcedir.tar.gz", Body=tar_gz({"inference.py": INFERENCE}))
        image = sagemaker.image_uris.retrieve("sklearn", config.region, "1.2-1")
        request = {
            "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "HyperParameters": {
                "C": "0.5",
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
        for run in range(args.runs + 1):  # the first job also starts the image's warm process
            name = f"bench-script-{run}"
            started = time.perf_counter()
            sm.create_training_job(TrainingJobName=name, **request)
            status = wait(
                lambda name=name: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus"
            )
            jobs.append(time.perf_counter() - started)
            assert status["TrainingJobStatus"] == "Completed", status.get("FailureReason")
        result["job"] = statistics.median(jobs[1:])
        if mode == "warm":
            job_root = config.work_dir / "training-jobs" / f"bench-script-{args.runs}"
            result.update(fresh_interpreters(job_root, csv, args.runs))

        sm.create_model(
            ModelName="bench-sklearn",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={
                "Image": image,
                "ModelDataUrl": "s3://bench/serve/model.tar.gz",
                "Environment": {
                    "SAGEMAKER_PROGRAM": "inference.py",
                    "SAGEMAKER_SUBMIT_DIRECTORY": "s3://bench/serve/sourcedir.tar.gz",
                },
            },
        )
        sm.create_endpoint_config(
            EndpointConfigName="bench-sklearn-config",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "bench-sklearn",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        endpoints = []
        for i in range(args.endpoints):
            name = f"bench-sklearn-{i}"
            started = time.perf_counter()
            sm.create_endpoint(EndpointName=name, EndpointConfigName="bench-sklearn-config")
            desc = wait(lambda name=name: sm.describe_endpoint(EndpointName=name), "EndpointStatus")
            endpoints.append(time.perf_counter() - started)
            assert desc["EndpointStatus"] == "InService", desc.get("FailureReason")
            if i:
                sm.delete_endpoint(EndpointName=name)
        result["endpoint"] = statistics.median(endpoints)

        # The in-process floor right before the calls, so both see about the same load.
        result.update(in_process(model_bytes, args.requests))
        boto = []
        for _ in range(args.requests):
            started = time.perf_counter()
            answer = runtime.invoke_endpoint(EndpointName="bench-sklearn-0", ContentType="text/csv", Body=ROW)
            answer["Body"].read()
            boto.append(time.perf_counter() - started)
        path = "/endpoints/bench-sklearn-0/invocations"
        headers = signed_headers(config, path, ROW.encode(), {"Content-Type": "text/csv"})
        conn = http.client.HTTPConnection("127.0.0.1", config.port)
        raw = []
        for _ in range(args.requests):
            started = time.perf_counter()
            conn.request("POST", path, body=ROW.encode(), headers=headers)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
            raw.append(time.perf_counter() - started)
        result["boto"], result["raw"] = boto, raw
    return result


def fresh_interpreters(job_root: Path, csv: bytes, runs: int) -> dict[str, float]:
    """``python train.py`` and the image's ``train`` command, each in a fresh interpreter."""
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
        script_cmd = [sys.executable, "train.py", "-C", "0.5"]
        direct = [timed(script_cmd, root / "code", sm_env) for _ in range(runs)]
        image_cmd = [sys.executable, "-m", "helpers.local.images.sklearn", "train"]
        toolkit = [timed(image_cmd, root, base) for _ in range(runs)]
    return {"direct": statistics.median(direct), "toolkit": statistics.median(toolkit)}


def ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--endpoints", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    model_bytes = boston_model()
    results = {mode: measure(mode, args, model_bytes) for mode in ("spawn", "warm")}

    warm = results["warm"]
    print(json.dumps({"runs": args.runs, "endpoints": args.endpoints, "requests": args.requests}))
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    print(f"python train.py (fresh interpreter)            {warm['direct']:.3f} s")
    print(f"python -m ...sklearn train (toolkit + runpy)   {warm['toolkit']:.3f} s")
    for mode, result in results.items():
        print(f"{mode}:")
        print(f"  job Create -> Completed                      {result['job']:.3f} s")
        print(f"  CreateEndpoint -> InService                  {result['endpoint']:.3f} s")
        print(f"  predict_fn in-process, p50                   {ms(result['predict_fn']):.3f} ms")
        print(f"  input_fn -> predict_fn -> output_fn, p50     {ms(result['chain']):.3f} ms")
        print(f"  InvokeEndpoint raw HTTP keep-alive, p50      {ms(result['raw']):.3f} ms")
        print(f"  InvokeEndpoint via boto3, p50                {ms(result['boto']):.3f} ms")
        print(
            "  raw HTTP p50 - predict_fn p50                "
            f"{ms(result['raw']) - ms(result['predict_fn']):.3f} ms"
        )


if __name__ == "__main__":
    main()
