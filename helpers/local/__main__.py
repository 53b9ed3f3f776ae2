"""``python -m helpers.local serve|start|stop|status|env`` — run and manage the local service."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
from pathlib import Path

from helpers.local import control
from helpers.local.core.config import ServiceConfig, client_environment, load_config
from helpers.local.core.credentials import UnsafeStateFolder
from helpers.local.core.pricing import KIND_LABELS, dollars, idle_endpoint_message, total_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.local",
        description="A local, offline SageMaker-compatible service (with S3, IAM, STS and CloudWatch Logs).",
    )
    parser.add_argument("command", choices=["serve", "start", "stop", "status", "env"])
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (env SAGEMAKER_LOCAL_PORT, default 8773)")
    parser.add_argument("--state-dir", help="where resources are kept (env SAGEMAKER_LOCAL_STATE_DIR)")
    args = parser.parse_args(argv)
    config = load_config(args.port, args.state_dir)
    try:
        return _run(args.command, config)
    except (control.ServiceStartError, UnsafeStateFolder) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(command: str, config: ServiceConfig) -> int:
    if command == "serve":
        from helpers.local.server import serve

        serve(config)
    elif command == "start":
        info = control.start_current(config)
        print(
            f"SageMaker local service running on {config.url} "
            f"(pid {info['pid']}, state in {info['stateDir']})"
        )
    elif command == "stop":
        stopped = control.stop(config)
        print("stopped" if stopped else f"not running on {config.url}")
    elif command == "status":
        info = control.health(config)
        if not info:
            print(f"not running on {config.url}")
            return 3
        if not info["trusted"]:
            print(
                f"port {config.port} is used by another local SageMaker service (state in {info['stateDir']})"
            )
            return 3
        state = f"{info['stateDir']} ({_size(Path(info['stateDir']))})"
        print(f"running on {config.url} (pid {info['pid']}, state in {state}, region {info['region']})")
        try:
            report = control.usage(config)
        except OSError as exc:
            print(f"(no cost report: {exc})")
            return 0
        for line in running_lines(report):
            print(line)
    elif command == "env":
        for key, value in client_environment(config).items():
            print(f"export {key}={shlex.quote(value)}")
    return 0


def running_lines(report: dict) -> list[str]:
    """What runs now with its hourly and so-far cost on AWS, idle endpoints, then the total so far."""
    running = [row for row in report["usage"] if row["running"]]
    lines = [
        "Running now (billed by the hour on AWS):" if running or report["starting"] else "Nothing is running."
    ]
    for row in running:
        name = row["name"] + (f" ({row['variant']})" if row.get("variant") else "")
        what = f"{KIND_LABELS.get(row['kind'], row['kind'])} {name}"
        size = f"{row['instanceType']} x {row['instanceCount']}"
        minutes = f"running {row['seconds'] / 60:.0f} min"
        if row["cost"] is None:
            lines.append(f"  {what}: {size}, {minutes}, {row['noPrice']}")
        else:
            lines.append(
                f"  {what}: {size}, ${row['hourly']:.3f}/h, {minutes}, {dollars(row['cost'])} so far"
            )
    for item in report["starting"]:
        # Notebook instances and endpoints being created show here until they are billed.
        lines.append(f"  {KIND_LABELS.get(item['kind'], item['kind'])} {item['name']}: {item['status']}")
    idle: dict[str, dict] = {}
    for row in running:
        if row.get("idle"):
            idle.setdefault(row["name"], {"seconds": row["idleSeconds"], "hourly": 0.0})
            hourly = idle[row["name"]]["hourly"]
            idle[row["name"]]["hourly"] = (
                None if hourly is None or row["hourly"] is None else hourly + row["hourly"]
            )
    for endpoint, spell in idle.items():
        lines.append(
            "WARNING: " + idle_endpoint_message(endpoint, spell["seconds"], spell["hourly"], report["region"])
        )
    scope = "Everything in this state folder so far would have cost"
    lines.append(total_line(report["total"], report["region"], report["pricesCopied"], scope))
    unpriced = sorted({row["noPrice"] for row in report["usage"] if row["cost"] is None})
    if unpriced:
        lines.append(f"  (not counted: {'; '.join(unpriced)})")
    return lines


def _size(folder: Path) -> str:
    """The disk space of everything under ``folder``, e.g. ``12.3 MB``."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # a job may remove its files meanwhile
                total += (Path(root) / name).lstat().st_size
    if total < 1024:
        return f"{total} B"
    size = total / 1024
    for unit in ("KB", "MB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


if __name__ == "__main__":
    sys.exit(main())
