"""Engine overhead per training job, and the first notebook pair's wall time.

Overhead = what a training job costs beyond its algorithm. The algorithm's own time is measured
by running the very same container command (``python -m helpers.local.images.xgboost train``)
directly on a prepared /opt/ml folder; the job's time is CreateTrainingJob -> Completed as a
client sees it (polling every 10 ms) and as the service stamps it (CreationTime ->
TrainingEndTime). The difference is the service's work: bookkeeping, copying channels, logging,
packing and uploading model.tar.gz.

Run: ``.venv/bin/python bench/bench_engine.py [--jobs 8] [--notebooks]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _service import ROOT, running_service

sys.path.insert(0, str(ROOT))
from tests.service_helpers import regression_csv, training_request  # noqa: E402


def algorithm_seconds(work_dir: Path, runs: int, channels: dict[str, str]) -> list[float]:
    """Wall time of the bare container command on a copy of a finished job's folder.

    A finished job keeps its configuration but not its channel copies: ``channels`` puts them back.
    """
    times = []
    for _ in range(runs):
        root = Path(tempfile.mkdtemp())
        shutil.copytree(work_dir / "input", root / "input")
        for channel, body in channels.items():
            (root / "input" / "data" / channel).mkdir(parents=True, exist_ok=True)
            (root / "input" / "data" / channel / f"{channel}.csv").write_text(body)
        (root / "model").mkdir()
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "helpers.local.images.xgboost", "train"],
            env={**os.environ, "SAGEMAKER_OPT_ML": str(root)},
            cwd=root, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        times.append(time.perf_counter() - started)
        shutil.rmtree(root)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--notebooks", action="store_true", help="also time the Batch Transform notebooks")
    args = parser.parse_args()

    with running_service() as (config, session):
        sm, s3 = (
            session.client("sagemaker", endpoint_url=config.url),
            session.client("s3", endpoint_url=config.url),
        )
        s3.create_bucket(Bucket="bench")
        # Boston-sized data: 227 training rows, 112 validation rows, 13 features.
        channels = {"train": regression_csv(227, 13, seed=1), "validation": regression_csv(112, 13, seed=2)}
        for channel, body in channels.items():
            s3.put_object(Bucket="bench", Key=f"data/{channel}/{channel}.csv", Body=body.encode())
        client_side, server_side = [], []
        for i in range(args.jobs):
            name = f"bench-job-{i}"
            request = training_request(
                name, "bench", num_round="200", max_depth="5", eta="0.2", early_stopping_rounds="10"
            )
            started = time.perf_counter()
            sm.create_training_job(**request)
            while (desc := sm.describe_training_job(TrainingJobName=name))[
                "TrainingJobStatus"
            ] == "InProgress":
                time.sleep(0.01)
            client_side.append(time.perf_counter() - started)
            assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
            server_side.append((desc["TrainingEndTime"] - desc["CreationTime"]).total_seconds())
        bare = algorithm_seconds(config.work_dir / "training-jobs" / "bench-job-0", args.jobs, channels)

    alg = statistics.median(bare)
    print(f"training jobs: {args.jobs} (Boston-sized, num_round 200)")
    print(f"  algorithm alone (container command)   median {alg:.3f} s")
    print(f"  job, client-observed Create->Completed median {statistics.median(client_side):.3f} s")
    print(f"  job, service CreationTime->EndTime     median {statistics.median(server_side):.3f} s")
    print(f"  engine overhead (client-observed)      median {statistics.median(client_side) - alg:.3f} s")
    print(f"  engine overhead (service timestamps)   median {statistics.median(server_side) - alg:.3f} s")

    if args.notebooks:
        for name in ("High Level", "Low Level"):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "helpers.course", "--only", f"(Batch Transform) - {name}"],
                cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            print(
                f"  notebook Batch Transform - {name}: {time.perf_counter() - started:.1f} s"
                " (incl. kernel start)"
            )


if __name__ == "__main__":
    main()
