"""What request validation costs per call: protocol.validate_request on a CreateTrainingJob.

The request is the size the course sends (two channels, a handful of hyperparameters), plus a
full-size variant (100 hyperparameters, 50 tags, 20 channels) to show the cost grows with the
request, not with the model. botocore's ParamValidator (types and required only) is timed on the
same requests for comparison.

Run: ``.venv/bin/python bench/bench_validation.py [--runs 2000]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from _service import ROOT

sys.path.insert(0, str(ROOT))
from botocore.validate import ParamValidator  # noqa: E402

from helpers.local.core import protocol  # noqa: E402
from tests.service_helpers import csv_channel, training_request  # noqa: E402


def full_size_request() -> dict:
    request = training_request("bench-full", "course-bench")
    request["HyperParameters"] = {f"param_{i}": str(i) for i in range(100)}
    request["Tags"] = [{"Key": f"key-{i}", "Value": f"value-{i}"} for i in range(50)]
    request["InputDataConfig"] = [
        csv_channel(f"channel-{i}", f"s3://course-bench/data/{i}") for i in range(20)
    ]
    return request


def microseconds(check, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        check()
        times.append((time.perf_counter() - started) * 1e6)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    runs = parser.parse_args().runs
    operation = protocol.operation_model("CreateTrainingJob")
    shape = operation.input_shape
    for label, request in (
        ("course-sized", training_request("bench-job", "course-bench")),
        ("full-size", full_size_request()),
    ):
        protocol.validate_request(operation, request)  # first call compiles the patterns
        ours = microseconds(lambda r=request: protocol.validate_request(operation, r), runs)
        botocore = microseconds(lambda r=request: ParamValidator().validate(r, shape), runs)
        print(
            f"{label:>13}: validate_request p50 {ours[0]:.0f} us, p99 {ours[1]:.0f} us; "
            f"botocore ParamValidator p50 {botocore[0]:.0f} us, p99 {botocore[1]:.0f} us"
        )


if __name__ == "__main__":
    main()
