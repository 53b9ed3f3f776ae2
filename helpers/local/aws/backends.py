"""In-process access to the storage behind the front door: moto's S3 and IAM, our log and metric stores.

Jobs read channel data and write artifacts and logs here directly: no HTTP round trip, and
the objects are the very ones a learner's boto3 client sees. ``open_state`` points S3,
CloudWatch Logs and CloudWatch metrics at the state folder, so all outlive a restart of the service.
"""

from __future__ import annotations

import time
from pathlib import Path

from moto.core.config import default_user_config
from moto.iam.models import iam_backends
from moto.s3.models import s3_backends

from helpers.local.aws.logs.store import LogStore
from helpers.local.aws.metrics.store import MetricPoint, MetricStore
from helpers.local.aws.roles import trust_policy
from helpers.local.core.config import ACCOUNT_ID, ROLE_NAME
from helpers.local.core.errors import ValidationException
from helpers.local.core.s3_uri import S3Location
from helpers.local.store.s3_objects import ObjectStore, persist_s3

_state: dict[str, ObjectStore | LogStore | MetricStore] = {}


def _s3():
    return s3_backends[ACCOUNT_ID]["aws"]


def bucket_exists(bucket: str) -> bool:
    return bucket in _s3().buckets


def list_keys(location: S3Location) -> list[str]:
    """Keys under a prefix, sorted, without folder markers."""
    if not bucket_exists(location.bucket):
        return []
    bucket = _s3().get_bucket(location.bucket)
    return sorted(key for key in bucket.keys if key.startswith(location.key) and not key.endswith("/"))


def get_object(bucket: str, key: str) -> bytes | None:
    if not bucket_exists(bucket):
        return None
    obj = _s3().get_object(bucket, key)
    return None if obj is None else obj.value


def object_exists(bucket: str, key: str) -> bool:
    """Whether the object is there, without reading its body."""
    return bucket_exists(bucket) and _s3().get_object(bucket, key) is not None


def put_object(bucket: str, key: str, data: bytes) -> None:
    if not bucket_exists(bucket):
        raise ValidationException(
            f"The S3 bucket '{bucket}' does not exist: create it first (for example with "
            "session.default_bucket() or s3.create_bucket)."
        )
    _s3().put_object(bucket, key, data)


def open_state(state_dir: Path) -> None:
    """Restore S3 from the state folder and keep S3 and CloudWatch Logs there from now on."""
    # AWS's managed policies (AmazonSageMakerFullAccess, ...) exist in every account, so a learner
    # can attach one to a role they create; moto loads them (~0.6 s) when IAM is first used.
    default_user_config.setdefault("iam", {})["load_aws_managed_policies"] = True
    _state["s3"] = persist_s3(_s3(), state_dir / "s3")
    _state["logs"] = LogStore(state_dir / "logs.sqlite")
    _state["metrics"] = MetricStore(state_dir / "metrics.sqlite")


def log_store() -> LogStore:
    store = _state.get("logs")
    if store is None:
        raise RuntimeError(
            "CloudWatch Logs is not open: call moto_backends.open_state(state_dir) at start-up."
        )
    return store


def metric_store() -> MetricStore:
    store = _state.get("metrics")
    if store is None:
        raise RuntimeError("CloudWatch is not open: call moto_backends.open_state(state_dir) at start-up.")
    return store


def put_metric_points(region: str, points: list[MetricPoint]) -> None:
    metric_store().put(region, points)


def ensure_log_stream(region: str, group: str, stream: str) -> None:
    log_store().ensure_stream(region, group, stream, int(time.time() * 1000))


def put_log_lines(region: str, group: str, stream: str, lines: list[str]) -> None:
    """Append lines to a job's log stream, stamped now, in one write."""
    if not lines:
        return
    now = int(time.time() * 1000)
    log_store().put_events(region, group, stream, ((now, line) for line in lines), now)


def ensure_execution_role() -> None:
    """Create the course's execution role in IAM so role look-ups by name succeed."""
    backend = iam_backends[ACCOUNT_ID]["global"]
    if any(role.name == ROLE_NAME for role in backend.roles.values()):
        return
    backend.create_role(
        role_name=ROLE_NAME,
        assume_role_policy_document=trust_policy("sagemaker.amazonaws.com"),
        path="/service-role/",
        permissions_boundary=None,
        description="Execution role used by the local SageMaker service",
        tags=[],
        max_session_duration=None,
    )
