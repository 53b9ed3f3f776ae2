"""A training job that prints a million log lines: the service's memory and how soon the job ends.

The job is the built-in XGBoost image with one addition: a ``sitecustomize`` module, put first on
the container's ``PYTHONPATH`` through the job's ``Environment``, prints ``--lines`` per-round lines
in XGBoost's own format (``[i]<TAB>train-rmse:v<TAB>validation-rmse:v``, so all 66 built-in metric
definitions are scraped as for a real job) before the algorithm trains a small model as usual.

Measured per code tree, each with its own service on a free port:
- peak RSS growth of the service process (VmHWM during the job minus VmRSS before it);
- time from the job's last log event (its CloudWatch timestamp) to its TrainingEndTime;
- what share of the growth moto's in-memory CloudWatch Logs store takes, estimated by putting the
  same events into a fresh moto backend in a separate process.

Run: ``.venv/bin/python bench/bench_logs.py [--lines 1000000] [--before /path/to/old/tree]``
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUND = "[{i}]\ttrain-rmse:{v:.5f}\tvalidation-rmse:{w:.5f}"

SITECUSTOMIZE = """
import os, sys
if sys.argv[-1:] == ["train"] and os.environ.get("BENCH_LOG_LINES"):
    out = sys.stdout
    for i in range(int(os.environ["BENCH_LOG_LINES"])):
        out.write("[%d]\\ttrain-rmse:%.5f\\tvalidation-rmse:%.5f\\n" % (i, 10.0 / (i + 1), 11.0 / (i + 1)))
    out.flush()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def measure(root: Path, lines: int) -> dict:
    """Runs in a process whose ``helpers`` is the code tree ``root``."""
    sys.path.insert(0, str(root))
    import boto3

    from helpers.local import control
    from helpers.local.core.config import client_environment, load_config
    from tests.service_helpers import regression_csv, training_request

    with tempfile.TemporaryDirectory() as state:
        hook = Path(state) / "hook"
        hook.mkdir()
        (hook / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
        config = load_config(free_port(), Path(state) / "service")
        control.start(config)
        try:
            env = client_environment(config)
            session = boto3.Session(
                aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                region_name=config.region,
            )
            client = lambda name: session.client(name, endpoint_url=config.url)  # noqa: E731
            sm, s3, logs = client("sagemaker"), client("s3"), client("logs")
            s3.create_bucket(Bucket="bench")
            s3.put_object(Bucket="bench", Key="data/train/train.csv", Body=regression_csv(seed=1).encode())
            s3.put_object(
                Bucket="bench", Key="data/validation/validation.csv", Body=regression_csv(40, seed=2).encode()
            )
            pid = control.health(config)["pid"]
            baseline = kib(pid, "VmRSS")
            request = training_request("bench-logs", "bench", num_round="10")
            request["StoppingCondition"] = {"MaxRuntimeInSeconds": 86400}
            request["Environment"] = {
                "BENCH_LOG_LINES": str(lines),
                "PYTHONPATH": f"{hook}{os.pathsep}{root}",
            }
            started = time.time()
            sm.create_training_job(**request)
            while True:
                desc = sm.describe_training_job(TrainingJobName="bench-logs")
                if desc["TrainingJobStatus"] not in ("InProgress", "Stopping"):
                    break
                time.sleep(0.5)
            wall = time.time() - started
            peak = kib(pid, "VmHWM")
            stream = logs.describe_log_streams(
                logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="bench-logs/"
            )["logStreams"][0]["logStreamName"]
            last = logs.get_log_events(
                logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream, startFromHead=False, limit=1
            )["events"][-1]
            return {
                "status": desc["TrainingJobStatus"],
                "metrics": len(desc.get("FinalMetricDataList", [])),
                "wall_seconds": wall,
                "rss_growth_mib": (peak - baseline) / 1024,
                "last_line_to_end_seconds": desc["TrainingEndTime"].timestamp() - last["timestamp"] / 1000,
            }
        finally:
            control.stop(config)


def moto_share(lines: int) -> float:
    """MiB that moto's Logs backend holds for ``lines`` such events (fresh process, same batches)."""
    sys.path.insert(0, str(ROOT))
    from moto.logs.models import logs_backends

    backend = logs_backends["123456789012"]["us-east-1"]
    backend.create_log_group("g", tags={})
    backend.create_log_stream("g", "s")
    before = kib(os.getpid(), "VmRSS")
    batch = []
    for i in range(lines):
        message = ROUND.format(i=i, v=10.0 / (i + 1), w=11.0 / (i + 1)).replace("\t", "#011")
        batch.append({"timestamp": int(time.time() * 1000), "message": message})
        if len(batch) == 1000:
            backend.put_log_events("g", "s", batch)
            batch = []
    if batch:
        backend.put_log_events("g", "s", batch)
    return (kib(os.getpid(), "VmRSS") - before) / 1024


def run_child(args: list[str], root: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run(
        [sys.executable, __file__, *args], env=env, cwd=root, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--before", type=Path, help="an older code tree to measure in the same run")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--moto", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.lines)))
        return
    if args.moto:
        print(json.dumps({"moto_mib": moto_share(args.lines)}))
        return
    trees = [("after", ROOT)] + ([("before", args.before.resolve())] if args.before else [])
    print(f"{args.lines:,} log lines, load average {os.getloadavg()[0]:.1f}")
    print("| code | status | wall | service peak RSS growth | last line -> TrainingEndTime |")
    print("| --- | --- | --- | --- | --- |")
    for label, root in trees:
        r = run_child(["--measure", str(root), "--lines", str(args.lines)], root)
        print(
            f"| {label} | {r['status']} ({r['metrics']} metrics) | {r['wall_seconds']:.1f} s | "
            f"{r['rss_growth_mib']:.0f} MiB | {r['last_line_to_end_seconds']:.2f} s |",
            flush=True,
        )
    moto = run_child(["--moto", "--lines", str(args.lines)], ROOT)["moto_mib"]
    print(f"moto's in-memory log store for these events: {moto:.0f} MiB")


if __name__ == "__main__":
    main()
