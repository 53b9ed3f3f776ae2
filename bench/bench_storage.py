"""S3 and CloudWatch Logs storage: throughput, start-up with 1 GB stored, memory after a million log lines.

Each code tree (``--before PATH``, e.g. a worktree of an older commit, then this one) is measured
in its own child process with ``PYTHONPATH`` pointing at it, so its service runs its own code:

* PutObject and GetObject throughput through boto3 for a 1 MB and a 100 MB object;
* the service's start time (``control.start`` until health answers) with 1 GB of objects stored,
  and how many of those objects a restarted service still lists;
* the service's RSS after a million PutLogEvents lines sent in batches of 10,000.

Run: ``.venv/bin/python bench/bench_storage.py [--before ../wt-before] [--stored-mb 1024]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _throughput(s3, size_mb: int, runs: int) -> tuple[float, float]:
    """Median MB/s of PutObject and of GetObject (body read to the end) for one object size."""
    body = os.urandom(size_mb * MB)
    put, get = [], []
    for run in range(runs):
        started = time.perf_counter()
        s3.put_object(Bucket="bench", Key=f"throughput/{size_mb}/{run}", Body=body)
        put.append(size_mb / (time.perf_counter() - started))
        started = time.perf_counter()
        data = s3.get_object(Bucket="bench", Key=f"throughput/{size_mb}/{run}")["Body"].read()
        get.append(size_mb / (time.perf_counter() - started))
        assert len(data) == len(body)
        s3.delete_object(Bucket="bench", Key=f"throughput/{size_mb}/{run}")
    return statistics.median(put), statistics.median(get)


def measure(stored_mb: int, log_lines: int) -> dict[str, float]:
    """Runs inside the child process: everything against a service built from PYTHONPATH's tree."""
    import boto3

    from helpers.local import control
    from helpers.local.core.config import load_config

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as state:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        config = load_config(port, state)
        control.start(config)
        session = boto3.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name=config.region
        )
        s3 = session.client("s3", endpoint_url=config.url)
        logs = session.client("logs", endpoint_url=config.url)
        try:
            s3.create_bucket(Bucket="bench")
            results["put_1mb"], results["get_1mb"] = _throughput(s3, 1, 20)
            results["put_100mb"], results["get_100mb"] = _throughput(s3, 100, 3)

            chunk = os.urandom(100 * MB)
            objects = max(1, stored_mb // 100)
            for i in range(objects):
                s3.put_object(Bucket="bench", Key=f"stored/{i:04d}.bin", Body=chunk)
            del chunk
            control.stop(config)
            started = time.perf_counter()
            control.start(config)
            results["start_s"] = time.perf_counter() - started
            listed = (
                s3.list_objects_v2(Bucket="bench", Prefix="stored/").get("KeyCount", 0)
                if _has_bucket(s3)
                else 0
            )
            results["stored_objects"] = objects
            results["restored_objects"] = listed

            pid = control.health(config)["pid"]
            results["rss_idle_mb"] = _rss_mb(pid)
            logs.create_log_group(logGroupName="/bench/logs")
            logs.create_log_stream(logGroupName="/bench/logs", logStreamName="job/algo-1")
            now = int(time.time() * 1000)
            started = time.perf_counter()
            for batch in range(0, log_lines, 10_000):
                events = [
                    {
                        "timestamp": now,
                        "message": f"[{i}]#011train-rmse:{i * 0.001:.5f}#011validation-rmse:0.5",
                    }
                    for i in range(batch, min(batch + 10_000, log_lines))
                ]
                logs.put_log_events(logGroupName="/bench/logs", logStreamName="job/algo-1", logEvents=events)
            results["log_lines_per_s"] = log_lines / (time.perf_counter() - started)
            results["rss_logs_mb"] = _rss_mb(pid)
        finally:
            control.stop(config)
    return results


def _has_bucket(s3) -> bool:
    return any(bucket["Name"] == "bench" for bucket in s3.list_buckets()["Buckets"])


def run_tree(tree: Path, stored_mb: int, log_lines: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop("AWS_ENDPOINT_URL", None)
    out = subprocess.run(
        [sys.executable, __file__, "--measure", "--stored-mb", str(stored_mb), "--log-lines", str(log_lines)],
        env=env, cwd=tree, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--before", type=Path, help="a code tree to measure first (e.g. a worktree of an older commit)"
    )
    parser.add_argument("--stored-mb", type=int, default=1024)
    parser.add_argument("--log-lines", type=int, default=1_000_000)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.stored_mb, args.log_lines)))
        return

    trees = ([("before", args.before.resolve())] if args.before else []) + [("after", ROOT)]
    results = {name: run_tree(tree, args.stored_mb, args.log_lines) for name, tree in trees}
    rows = [
        ("PutObject 1 MB", "put_1mb", "{:.0f} MB/s"),
        ("GetObject 1 MB", "get_1mb", "{:.0f} MB/s"),
        ("PutObject 100 MB", "put_100mb", "{:.0f} MB/s"),
        ("GetObject 100 MB", "get_100mb", "{:.0f} MB/s"),
        (f"service start with {args.stored_mb} MB stored", "start_s", "{:.2f} s"),
        ("objects listed after the restart", "restored_objects", "{:.0f}"),
        ("service RSS before logging", "rss_idle_mb", "{:.0f} MB"),
        (f"service RSS after {args.log_lines:,} PutLogEvents lines", "rss_logs_mb", "{:.0f} MB"),
        ("PutLogEvents, batches of 10,000", "log_lines_per_s", "{:,.0f} lines/s"),
    ]
    print("| measured | " + " | ".join(name for name, _ in trees) + " |")
    print("| --- |" + " --- |" * len(trees))
    for label, key, fmt in rows:
        print(f"| {label} | " + " | ".join(fmt.format(results[name][key]) for name, _ in trees) + " |")
    stored = results["after"]["stored_objects"]
    if results["after"]["restored_objects"] != stored:
        sys.exit(
            f"error: the restarted service lists {results['after']['restored_objects']} of {stored} objects"
        )


if __name__ == "__main__":
    main()
