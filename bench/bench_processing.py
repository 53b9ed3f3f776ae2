"""What a processing job costs, and running its Python script in the container process against a child.

The same scikit-learn preprocessing script (pandas read of 200 rows, a StandardScaler, two CSVs
written) run as a processing job on the scikit-learn image, ``--runs`` times each way, medians of
CreateProcessingJob → Completed as a client sees it with 10 ms polling:

* ``python3 /opt/ml/processing/input/code/preprocess.py``: run in the container process with
  ``runpy`` (the container is forked from the image's warm process, which has imported sklearn);
* ``python3 -u /opt/ml/processing/input/code/preprocess.py``: any other command, here the same
  script in a child interpreter (what the first way would cost without ``runpy``).
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

from _service import running_service

SCRIPT = b"""
import pandas as pd
from sklearn.preprocessing import StandardScaler

frame = pd.read_csv("/opt/ml/processing/input/data/raw.csv")
scaled = StandardScaler().fit_transform(frame)
pd.DataFrame(scaled[:150]).to_csv("/opt/ml/processing/train/train.csv", index=False)
pd.DataFrame(scaled[150:]).to_csv("/opt/ml/processing/test/test.csv", index=False)
"""
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
ROLE = "arn:aws:iam::123456789012:role/service-role/SageMakerCourseExecution"


def request(name: str, bucket: str, entrypoint: list[str]) -> dict:
    def source(key: str, path: str) -> dict:
        return {"S3Uri": f"s3://{bucket}/{key}", "LocalPath": path, "S3DataType": "S3Prefix"}

    def output(name: str) -> dict:
        target = {"S3Uri": f"s3://{bucket}/out/{name}", "LocalPath": f"/opt/ml/processing/{name}"}
        return {"OutputName": name, "S3Output": {**target, "S3UploadMode": "EndOfJob"}}

    return {
        "ProcessingJobName": name,
        "RoleArn": ROLE,
        "AppSpecification": {"ImageUri": IMAGE, "ContainerEntrypoint": entrypoint},
        "ProcessingInputs": [
            {"InputName": "code", "S3Input": source("code/preprocess.py", "/opt/ml/processing/input/code")},
            {"InputName": "data", "S3Input": source("data/raw.csv", "/opt/ml/processing/input/data")},
        ],
        "ProcessingOutputConfig": {"Outputs": [output("train"), output("test")]},
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}
        },
    }


def run_job(sm, bucket: str, entrypoint: list[str]) -> float:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    sm.create_processing_job(**request(name, bucket, entrypoint))
    while True:
        status = sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"]
        if status not in ("InProgress", "Stopping"):
            break
        time.sleep(0.01)
    assert status == "Completed", sm.describe_processing_job(ProcessingJobName=name).get("FailureReason")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    rows = "a,b,c\n" + "".join(f"{i},{i * 2 % 7},{i % 3}\n" for i in range(200))
    with running_service() as (config, session):
        sm, s3 = (session.client(name, endpoint_url=config.url) for name in ("sagemaker", "s3"))
        bucket = "bench-processing"
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="code/preprocess.py", Body=SCRIPT)
        s3.put_object(Bucket=bucket, Key="data/raw.csv", Body=rows.encode())
        script = "/opt/ml/processing/input/code/preprocess.py"
        ways = {
            "in the container process (runpy)": ["python3", script],
            "child interpreter": ["python3", "-u", script],
        }
        for entrypoint in ways.values():
            run_job(sm, bucket, entrypoint)  # warms the image's process
            time.sleep(2)
        times: dict[str, list[float]] = {way: [] for way in ways}
        for _ in range(runs):  # interleaved, so machine noise falls on both ways alike
            for way, entrypoint in ways.items():
                times[way].append(run_job(sm, bucket, entrypoint))
        for way, values in times.items():
            print(f"{way:34s} median {statistics.median(values):.3f} s over {runs} jobs")


if __name__ == "__main__":
    main()
