"""What a notebook instance costs to bring up: Create → InService, Stop → Stopped, Start → InService.

Each sample is one instance on one service (no repository, no lifecycle configuration), polled
every 50 ms; InService means its JupyterLab server answered ``/api/status``. Medians of ``-n`` rounds.

    .venv/bin/python bench/bench_notebook_instances.py -n 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from _service import running_service

from helpers.local.core.config import ROLE_ARN


def _until(sm, name: str, status: str) -> None:
    while sm.describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"] != status:
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=3)
    rounds = parser.parse_args().n
    timings: dict[str, list[float]] = {
        "Create → InService": [],
        "Stop → Stopped": [],
        "Start → InService": [],
    }
    with running_service() as (config, session):
        sm = session.client("sagemaker", endpoint_url=config.url)
        for index in range(rounds):
            name = f"bench-{index}"
            started = time.perf_counter()
            sm.create_notebook_instance(
                NotebookInstanceName=name, InstanceType="ml.t3.medium", RoleArn=ROLE_ARN
            )
            _until(sm, name, "InService")
            timings["Create → InService"].append(time.perf_counter() - started)
            started = time.perf_counter()
            sm.stop_notebook_instance(NotebookInstanceName=name)
            _until(sm, name, "Stopped")
            timings["Stop → Stopped"].append(time.perf_counter() - started)
            started = time.perf_counter()
            sm.start_notebook_instance(NotebookInstanceName=name)
            _until(sm, name, "InService")
            timings["Start → InService"].append(time.perf_counter() - started)
            sm.stop_notebook_instance(NotebookInstanceName=name)
            _until(sm, name, "Stopped")
            sm.delete_notebook_instance(NotebookInstanceName=name)
    print(f"{rounds} rounds, load average {os.getloadavg()[0]:.1f}")
    for label, values in timings.items():
        print(f"| {label} | {statistics.median(values):.1f} s |")


if __name__ == "__main__":
    main()
