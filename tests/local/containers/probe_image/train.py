"""What the probe container does; see the package docstring."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import xgboost as xgb
from threadpoolctl import threadpool_info

from helpers.local.images.toolkit.container import TrainingEnvironment
from helpers.local.images.toolkit.errors import UserError


def train(env: TrainingEnvironment) -> None:
    behaviour = env.hyperparameters.get("behaviour", "report")
    print("probe started", flush=True)
    if behaviour == "client_error":
        raise UserError("the probe was asked to fail")
    if behaviour == "crash":
        raise RuntimeError("the probe crashed")
    if behaviour == "sleep":
        helper = subprocess.Popen(["sleep", "300"])
        print(json.dumps({"helper": helper.pid}), flush=True)
        time.sleep(300)
    if behaviour == "exit_soon":
        time.sleep(float(env.hyperparameters.get("seconds", "1")))
        return
    # One boosting run, so OpenMP has made its thread pool with the count it was given.
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 4))
    xgb.train({"max_depth": 3}, xgb.DMatrix(features, label=features.sum(axis=1)), 5)
    pools = {info["internal_api"]: info["num_threads"] for info in threadpool_info()}
    print(
        json.dumps(
            {
                "cwd": os.getcwd(),
                "environ": dict(os.environ),
                "pid": os.getpid(),
                "pgid": os.getpgrp(),
                "sid": os.getsid(0),
                "ppid": os.getppid(),
                "argv": sys.argv,
                "openmp_threads": pools.get("openmp"),
                "openblas_threads": pools.get("openblas"),
                "threads_now": len(os.listdir("/proc/self/task")),
                "random": float(np.random.random()),
            }
        ),
        flush=True,
    )
