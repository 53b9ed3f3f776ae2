"""A notebook instance's lifecycle configuration scripts: OnCreate once, OnStart at every start.

As on SageMaker each hook's script (base64 in the configuration) runs with bash, its output goes to
CloudWatch Logs group ``/aws/sagemaker/NotebookInstances``, stream
``<instance>/LifecycleConfig<Hook>``, and a script that fails or runs over 5 minutes leaves the
instance Failed. It runs in the instance's volume (``/home/ec2-user/SageMaker`` on AWS).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from helpers.local.containers.logs import LogSink
from helpers.local.notebooks.commands import run_command

LOG_GROUP = "/aws/sagemaker/NotebookInstances"
SCRIPT_TIMEOUT_SECONDS = 300  # SageMaker's limit: 5 minutes
HOOKS = ("OnCreate", "OnStart")


class LifecycleScriptFailed(Exception):
    """The message is the instance's FailureReason."""


def log_stream(instance: str, hook: str) -> str:
    return f"{instance}/LifecycleConfig{hook}"


def script_text(content: str) -> str:
    """A hook's ``Content`` decoded, or ValueError saying it is not base64 text."""
    try:
        return base64.b64decode(content, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("Content must be a base64-encoded shell script (base64.b64encode(script))") from None


def run_hook(
    hook: str,
    content: str,
    *,
    instance: str,
    instance_arn: str,
    config_arn: str,
    volume: Path,
    scripts: Path,
    environment: dict[str, str],
    region: str,
    timeout: float = SCRIPT_TIMEOUT_SECONDS,
) -> None:
    """Run one hook's script to its end (``environment`` is its whole environment); raise
    LifecycleScriptFailed as SageMaker fails the instance."""
    scripts.mkdir(parents=True, exist_ok=True)
    script = scripts / f"{hook}.sh"
    script.write_text(script_text(content))
    stream = log_stream(instance, hook)
    sink = LogSink(region, LOG_GROUP, stream)
    try:
        outcome = run_command(["bash", str(script)], volume, environment, timeout, sink.write)
    finally:
        sink.close()
    where = f"(Local service: its output is in log group {LOG_GROUP}, stream {stream}.)"
    subject = f"Notebook Instance Lifecycle Config '{config_arn}' for Notebook Instance '{instance_arn}'"
    if outcome.code is None:
        raise LifecycleScriptFailed(
            f"{subject} took longer than 5 minutes. Please check your CloudWatch logs for more details "
            f"if your Notebook Instance has Internet access. {where}"
        )
    if outcome.code != 0:
        raise LifecycleScriptFailed(
            f"{subject} failed. Please check your CloudWatch logs for more details if your Notebook "
            f"Instance has Internet access. (Local service: {hook} exited with code {outcome.code}; "
            f"its output is in log group {LOG_GROUP}, stream {stream}.)"
        )
