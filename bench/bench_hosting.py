"""Real-time hosting: CreateEndpoint -> InService, InvokeEndpoint latency and throughput, update under load.

For one Boston-sized row (13 features, a 200-round depth-5 XGBoost model) it compares
* an in-process ``Booster.inplace_predict`` (the floor),
* InvokeEndpoint through boto3 (signing, botocore parsing included),
* InvokeEndpoint as raw HTTP on a keep-alive connection (what the service itself adds),
then measures throughput with several client processes, and counts failed requests while
UpdateEndpoint swaps the model under 4 concurrent clients.

Run: ``.venv/bin/python bench/bench_hosting.py [--requests 3000] [--clients 4] [--seconds 5]``
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import multiprocessing
import statistics
import sys
import threading
import time

import numpy as np
from _service import ROOT, percentiles, running_service, signed_headers

sys.path.insert(0, str(ROOT))
from helpers.local.core.config import ROLE_ARN  # noqa: E402
from helpers.local.gateway.signature import SignatureVerifier, SignedRequest  # noqa: E402
from tests.service_helpers import XGBOOST_IMAGE, regression_csv, training_request  # noqa: E402

ROW = "0.00632,18.0,2.31,0.0,0.538,6.575,65.2,4.09,1.0,296.0,15.3,396.9,4.98"


def wait(describe, key: str) -> dict:
    while (desc := describe())[key] in ("InProgress", "Creating", "Updating"):
        time.sleep(0.01)
    return desc


def raw_invoke_loop(port: int, path: str, headers: dict[str, str], seconds: float, counter) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    body = ROW.encode()
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        done += 1
    with counter.get_lock():
        counter.value += done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--endpoints", type=int, default=5)
    args = parser.parse_args()

    with running_service() as (config, session):
        url = config.url
        sm = session.client("sagemaker", endpoint_url=url)
        s3 = session.client("s3", endpoint_url=url)
        runtime = session.client("sagemaker-runtime", endpoint_url=url)
        s3.create_bucket(Bucket="bench")
        s3.put_object(
            Bucket="bench", Key="data/train/train.csv", Body=regression_csv(227, 13, seed=1).encode()
        )
        s3.put_object(
            Bucket="bench",
            Key="data/validation/validation.csv",
            Body=regression_csv(112, 13, seed=2).encode(),
        )
        models = []
        for i, rounds in enumerate(("200", "20")):
            sm.create_training_job(**training_request(f"bench-{i}", "bench", num_round=rounds, max_depth="5"))
            desc = wait(
                lambda i=i: sm.describe_training_job(TrainingJobName=f"bench-{i}"), "TrainingJobStatus"
            )
            sm.create_model(
                ModelName=f"bench-model-{i}", ExecutionRoleArn=ROLE_ARN,
                PrimaryContainer={
                    "Image": XGBOOST_IMAGE, "ModelDataUrl": desc["ModelArtifacts"]["S3ModelArtifacts"],
                },
            )  # fmt: skip
            sm.create_endpoint_config(
                EndpointConfigName=f"bench-config-{i}",
                ProductionVariants=[
                    {
                        "VariantName": f"V{i}",
                        "ModelName": f"bench-model-{i}",
                        "InitialInstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                    }
                ],
            )
            models.append(f"bench-model-{i}")

        create_times = []
        for i in range(args.endpoints):
            started = time.perf_counter()
            sm.create_endpoint(EndpointName=f"bench-ep-{i}", EndpointConfigName="bench-config-0")
            desc = wait(lambda i=i: sm.describe_endpoint(EndpointName=f"bench-ep-{i}"), "EndpointStatus")
            assert desc["EndpointStatus"] == "InService", desc.get("FailureReason")
            create_times.append(time.perf_counter() - started)
            if i:
                sm.delete_endpoint(EndpointName=f"bench-ep-{i}")
        print(
            f"CreateEndpoint -> InService ({args.endpoints} endpoints): "
            f"median {statistics.median(create_times):.3f} s, "
            f"max {max(create_times):.3f} s"
        )

        # In-process floor: the same model file the endpoint serves.
        import xgboost

        booster = xgboost.Booster()
        booster.load_model(str(config.work_dir / "training-jobs" / "bench-0" / "model" / "xgboost-model"))
        features = np.array([[float(v) for v in ROW.split(",")]])
        local = []
        for _ in range(args.requests):
            started = time.perf_counter()
            booster.inplace_predict(features)
            local.append(time.perf_counter() - started)

        via_boto = []
        for _ in range(args.requests // 3):
            started = time.perf_counter()
            runtime.invoke_endpoint(EndpointName="bench-ep-0", ContentType="text/csv", Body=ROW)[
                "Body"
            ].read()
            via_boto.append(time.perf_counter() - started)

        conn = http.client.HTTPConnection("127.0.0.1", config.port)
        path = "/endpoints/bench-ep-0/invocations"
        headers = signed_headers(config, path, ROW.encode(), {"Content-Type": "text/csv"})
        raw = []
        for _ in range(args.requests):
            started = time.perf_counter()
            conn.request("POST", path, body=ROW.encode(), headers=headers)
            response = conn.getresponse()
            response.read()
            raw.append(time.perf_counter() - started)
        print(f"one Boston row, {args.requests} sequential requests:")
        print(f"  in-process inplace_predict   {percentiles(local)}")
        print(f"  InvokeEndpoint raw HTTP      {percentiles(raw)}")
        print(f"  InvokeEndpoint via boto3     {percentiles(via_boto)}")
        print(
            "  raw HTTP p50 minus in-process p50: "
            f"{(statistics.median(raw) - statistics.median(local)) * 1000:.3f} ms"
        )
        verifier = SignatureVerifier(config.credentials())
        request = SignedRequest(
            "POST",
            path,
            "",
            {k.lower(): v for k, v in {**headers, "Host": f"127.0.0.1:{config.port}"}.items()},
        )
        body_hash = hashlib.sha256(ROW.encode()).hexdigest()
        checks = []
        for _ in range(args.requests):
            started = time.perf_counter()
            verifier.verify(request, body_hash)
            checks.append(time.perf_counter() - started)
        print(f"  of which the signature check {percentiles(checks)}")

        counter = multiprocessing.Value("i", 0)
        procs = [
            multiprocessing.Process(
                target=raw_invoke_loop, args=(config.port, path, headers, args.seconds, counter)
            )
            for _ in range(args.clients)
        ]
        started = time.perf_counter()
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        elapsed = time.perf_counter() - started
        print(
            f"throughput, {args.clients} raw-HTTP client processes for {args.seconds:.0f} s: "
            f"{counter.value / elapsed:,.0f} invocations/s"
        )

        failures, answers, stop = [], [], threading.Event()

        def client() -> None:
            own = session.client("sagemaker-runtime", endpoint_url=url)
            while not stop.is_set():
                try:
                    answers.append(
                        own.invoke_endpoint(EndpointName="bench-ep-0", ContentType="text/csv", Body=ROW)[
                            "InvokedProductionVariant"
                        ]
                    )
                except Exception as exc:  # counted, that is the point
                    failures.append(exc)

        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        started = time.perf_counter()
        sm.update_endpoint(EndpointName="bench-ep-0", EndpointConfigName="bench-config-1")
        desc = wait(lambda: sm.describe_endpoint(EndpointName="bench-ep-0"), "EndpointStatus")
        update_seconds = time.perf_counter() - started
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join()
        print(
            f"UpdateEndpoint under 4 concurrent clients: {desc['EndpointStatus']} "
            f"after {update_seconds:.2f} s; "
            f"{len(answers)} requests, {len(failures)} failed; answered by {sorted(set(answers))}"
        )


if __name__ == "__main__":
    main()
