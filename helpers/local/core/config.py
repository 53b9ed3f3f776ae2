"""Where the local service listens and keeps its state, and the identity it presents."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from helpers.local.core.credentials import Credentials, load_existing, load_or_create

ACCOUNT_ID = "123456789012"  # moto's default account: S3, IAM and Logs live under it
DEFAULT_REGION = "us-east-1"
DEFAULT_PORT = 8773
HOST = "127.0.0.1"
ROLE_NAME = "SageMakerCourseExecutionRole"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/service-role/{ROLE_NAME}"
SDK_CONFIG_FILE = "sagemaker-sdk-config.yaml"


def _default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "sagemaker-course"


@dataclass(frozen=True)
class ServiceConfig:
    port: int
    state_dir: Path
    region: str

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def database(self) -> Path:
        return self.state_dir / "sagemaker.sqlite"

    @property
    def usage_database(self) -> Path:
        """The cost ledger: what the work in this folder would have cost on AWS."""
        return self.state_dir / "usage.sqlite"

    @property
    def work_dir(self) -> Path:
        return self.state_dir / "work"

    def credentials(self) -> Credentials:
        """The state folder's own access key pair (made on first use, readable by its owner only)."""
        return load_or_create(self.state_dir)

    def existing_credentials(self) -> Credentials | None:
        """The key pair if the state folder has one already; nothing is created."""
        return load_existing(self.state_dir)


def load_config(port: int | None = None, state_dir: str | os.PathLike | None = None) -> ServiceConfig:
    """Resolve settings: explicit arguments, then environment variables, then defaults."""
    return ServiceConfig(
        port=int(port or os.environ.get("SAGEMAKER_LOCAL_PORT") or DEFAULT_PORT),
        state_dir=Path(state_dir or os.environ.get("SAGEMAKER_LOCAL_STATE_DIR") or _default_state_dir())
        .expanduser()
        .resolve(),
        region=os.environ.get("SAGEMAKER_LOCAL_REGION") or DEFAULT_REGION,
    )


def sdk_config_file(config: ServiceConfig) -> Path:
    """The SageMaker SDK's user config for this service, written in the state folder.

    Every ``sagemaker.Session()`` reads it (``SAGEMAKER_USER_CONFIG_OVERRIDE``, see the SDK's
    ``sagemaker/config/config.py``): the default bucket it names means the SDK never asks STS for
    the account (it does so at the real STS address, whatever ``AWS_ENDPOINT_URL`` says), and
    telemetry stays off. JSON is YAML, which the SDK's loader reads.
    """
    document = {
        "SchemaVersion": "1.0",
        "SageMaker": {
            "PythonSDK": {
                "Modules": {
                    "Session": {"DefaultS3Bucket": default_bucket(config)},
                    "TelemetryOptOut": True,
                }
            }
        },
    }
    path = config.state_dir / SDK_CONFIG_FILE
    text = json.dumps(document, indent=2) + "\n"
    if not path.exists() or path.read_text() != text:
        config.state_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text)
        partial.replace(path)  # a reader in another process never sees half a file
    return path


def default_bucket(config: ServiceConfig) -> str:
    """``sagemaker-{region}-{account}``, the bucket the SDK makes for a session."""
    return f"sagemaker-{config.region}-{ACCOUNT_ID}"


def client_environment(config: ServiceConfig) -> dict[str, str]:
    """Environment variables that point any boto3 program (and the SageMaker SDK) at the service,
    and let a later ``helpers.connect()`` or ``python -m helpers.local`` find the same one."""
    credentials = config.credentials()
    return {
        "SAGEMAKER_LOCAL_PORT": str(config.port),
        "SAGEMAKER_LOCAL_STATE_DIR": str(config.state_dir),
        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(sdk_config_file(config)),
        "AWS_ENDPOINT_URL": config.url,
        "AWS_DEFAULT_REGION": config.region,
        "AWS_REGION": config.region,
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


# SageMaker sends SIGTERM when a training job reaches MaxRuntimeInSeconds and SIGKILL this many
# seconds later; an algorithm can save its model in between.
DEFAULT_STOP_GRACE_SECONDS = 120.0
QUOTAS_FILE = "quotas.json"


def stop_grace_seconds() -> float:
    """The SIGTERM-to-SIGKILL grace period (``SAGEMAKER_LOCAL_STOP_GRACE_SECONDS``, default 120)."""
    value = os.environ.get("SAGEMAKER_LOCAL_STOP_GRACE_SECONDS")
    return float(value) if value else DEFAULT_STOP_GRACE_SECONDS


def quota_overrides(config: ServiceConfig) -> dict[str, int]:
    """Account quotas set by the user: ``quotas.json`` in the state folder, then ``SAGEMAKER_LOCAL_QUOTAS``.

    Both hold a JSON object from quota name to value, e.g.
    ``{"ml.m5.large for training job usage": 8, "Number of instances across all training jobs": 8}``.
    """
    overrides: dict[str, int] = {}
    path = config.state_dir / QUOTAS_FILE
    if path.exists():
        overrides.update(_quota_values(path.read_text(), str(path)))
    if os.environ.get("SAGEMAKER_LOCAL_QUOTAS"):
        overrides.update(_quota_values(os.environ["SAGEMAKER_LOCAL_QUOTAS"], "SAGEMAKER_LOCAL_QUOTAS"))
    return overrides


def _quota_values(text: str, source: str) -> dict[str, int]:
    try:
        values = json.loads(text)
        if not isinstance(values, dict):
            raise ValueError("not a JSON object")
        return {str(name): int(value) for name, value in values.items()}
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{source} must be a JSON object from quota name to a whole number of instances: {exc}"
        ) from exc


def warm_images_enabled() -> bool:
    """Whether containers fork from a warm, pre-imported process of their image
    (``SAGEMAKER_LOCAL_WARM_IMAGES``, default on; ``0`` starts each one in a fresh interpreter)."""
    return os.environ.get("SAGEMAKER_LOCAL_WARM_IMAGES", "1").strip().lower() not in (
        "0",
        "false",
        "no",
        "off",
    )
