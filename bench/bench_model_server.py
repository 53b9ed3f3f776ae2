"""How much an HTTP invocation of the XGBoost model server costs over an in-process predict.

Trains a Boston-sized model (13 features, up to 200 rounds of depth 5), starts
``python -m helpers.local.images.xgboost serve`` on a free port, then measures

* in-process: the invocation handler on one CSV row (parse, predict, encode), and bare inplace_predict;
* HTTP latency: one keep-alive connection, sequential single-row requests (p50/p99), through
  http.client (what the service's gateway uses) and through a bare socket (the server's own share);
* HTTP throughput: several client processes, each with its own keep-alive connection.

Run: ``.venv/bin/python bench/bench_model_server.py [--requests 5000] [--clients 3] [--seconds 3]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_model(ml_root: Path) -> bytes:
    import xgboost as xgb

    from helpers.local.images.xgboost.train import save_model

    rng = np.random.default_rng(0)
    features = rng.normal(size=(339, 13)).astype(np.float32)
    labels = features @ rng.normal(size=13) + rng.normal(size=339)
    params = {"max_depth": 5, "eta": 0.2, "gamma": 4, "min_child_weight": 6, "subsample": 0.8}
    booster = xgb.train(params, xgb.DMatrix(features, label=labels), num_boost_round=200)
    save_model(booster, ml_root / "model")
    return ",".join(f"{v:.4f}" for v in features[0]).encode()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def time_calls(call, count: int) -> list[float]:
    for _ in range(min(200, count)):
        call()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def in_process(ml_root: Path, row: bytes, count: int) -> dict[str, float]:
    from helpers.local.images.xgboost.serve import load_handler

    handler = load_handler(ml_root / "model")
    matrix = np.array(row.decode().split(","), dtype=np.float32).reshape(1, -1)
    booster, limit = handler.booster, handler.iteration_range
    bare = time_calls(lambda: booster.inplace_predict(matrix, iteration_range=limit), count)
    lean = time_calls(lambda: handler.predict(matrix), count)
    full = time_calls(lambda: handler(row, "text/csv", "text/csv"), count)
    return {
        "inplace_predict_p50_us": statistics.median(bare) * 1e6,
        "lean_predict_p50_us": statistics.median(lean) * 1e6,
        "handler_p50_us": statistics.median(full) * 1e6,
        "handler_p99_us": percentile(full, 99) * 1e6,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(ml_root: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, SAGEMAKER_OPT_ML=str(ml_root), SAGEMAKER_BIND_TO_PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpers.local.images.xgboost", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the model server did not start")


def invoke(conn: http.client.HTTPConnection, row: bytes) -> bytes:
    conn.request("POST", "/invocations", body=row, headers={"Content-Type": "text/csv", "Accept": "text/csv"})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {body!r}")
    return body


def http_latency(port: int, row: bytes, count: int) -> dict[str, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    samples = time_calls(lambda: invoke(conn, row), count)
    conn.close()
    return {
        "http_p50_us": statistics.median(samples) * 1e6,
        "http_p99_us": percentile(samples, 99) * 1e6,
    }


def raw_socket_latency(port: int, row: bytes, count: int) -> dict[str, float]:
    """The same request over a bare socket: the server's share without http.client's parsing."""
    request = (
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\n"
        b"Accept: text/csv\r\nContent-Length: %d\r\n\r\n%s" % (len(row), row)
    )
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def call() -> None:
        sock.sendall(request)
        data = b""
        while True:
            data += sock.recv(65536)
            head, found, body = data.partition(b"\r\n\r\n")
            if found:
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    return

    samples = time_calls(call, count)
    sock.close()
    return {
        "raw_socket_p50_us": statistics.median(samples) * 1e6,
        "raw_socket_p99_us": percentile(samples, 99) * 1e6,
    }


def _client(port: int, row: bytes, seconds: float, results) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        invoke(conn, row)
        done += 1
    results.put(done)


def http_throughput(port: int, row: bytes, clients: int, seconds: float) -> float:
    results = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_client, args=(port, row, seconds, results)) for _ in range(clients)
    ]
    start = time.perf_counter()
    for proc in procs:
        proc.start()
    total = sum(results.get() for _ in procs)
    for proc in procs:
        proc.join()
    return total / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ml_root = Path(folder)
        row = build_model(ml_root)
        results = in_process(ml_root, row, args.requests)
        port = free_port()
        server = start_server(ml_root, port)
        try:
            results.update(http_latency(port, row, args.requests))
            results["http_overhead_p50_us"] = results["http_p50_us"] - results["handler_p50_us"]
            results.update(raw_socket_latency(port, row, args.requests))
            results["raw_socket_overhead_p50_us"] = results["raw_socket_p50_us"] - results["handler_p50_us"]
            results["requests_per_second"] = http_throughput(port, row, args.clients, args.seconds)
        finally:
            server.terminate()
            server.wait(10)
    results["cpus"] = os.cpu_count() or 0
    print(json.dumps({k: round(v, 1) for k, v in results.items()}, indent=2))


if __name__ == "__main__":
    main()
