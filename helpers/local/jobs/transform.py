"""A batch transform job's run: start the model server, send it every record, assemble outputs."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from helpers.local.aws import backends as moto_backends
from helpers.local.containers.images import image_module
from helpers.local.containers.logs import LogSink
from helpers.local.containers.model_client import ModelTimeout, ModelUnreachable
from helpers.local.containers.model_data import unpack_model, unpack_source
from helpers.local.containers.runner import ModelServer, ModelServerError
from helpers.local.core.errors import JobFailure
from helpers.local.core.paths import child, remove_tree
from helpers.local.core.s3_uri import parse_s3_uri
from helpers.local.images.toolkit.framework_version import IMAGE_URI_ENV
from helpers.local.jobs.lifecycle import INTERRUPTED_REASON
from helpers.local.jobs.training import require_output_bucket

KIND = "TransformJob"
LOG_GROUP = "/aws/sagemaker/TransformJobs"
MB = 1024 * 1024


class TransformJobRun:
    def __init__(self, service, name: str):
        self.service = service
        self.name = name
        self.jobs_dir: Path = service.config.work_dir / "transform-jobs"
        self.root: Path = child(self.jobs_dir, name)
        self.server: ModelServer | None = None
        self.sink: LogSink | None = None
        self._stop = threading.Event()

    def stop(self, reason: str | None = None) -> None:
        self._stop.set()
        if self.server is not None:
            self.server.stop()

    def run(self) -> None:
        started = time.time()
        self._update(TransformStartTime=started)
        try:
            doc = self.service.store.get(KIND, self.name)
            _check_output_bucket(doc)
            self._start_server(doc)
            self._transform_all(doc)
            status, fields = "Completed", {}
        except JobFailure as failure:
            status, fields = "Failed", {"FailureReason": str(failure)}
        except Exception as exc:
            status = "Failed"
            fields = {"FailureReason": f"InternalServerError: the local service failed: {exc!r}"}
        finally:
            if self.server is not None:
                self.server.stop()
            if self.sink is not None:
                self.sink.close()  # the last lines are in CloudWatch before the job reads as ended
            # The unpacked model is a copy of the artifact in S3; the results are in S3 too.
            remove_tree(self.root, self.jobs_dir)
        if self._stop.is_set():
            status, fields = "Stopped", {}
        elif status == "Failed" and self.service.stopping.is_set():
            # The service is stopping and ended the model server: not the model's fault.
            fields = {"FailureReason": INTERRUPTED_REASON}
        self._update(TransformJobStatus=status, TransformEndTime=time.time(), **fields)

    def _update(self, **fields: Any) -> None:
        self.service.store.update(KIND, self.name, lambda d: d.update(fields))

    def _start_server(self, doc: dict[str, Any]) -> None:
        model = self.service.store.get("Model", doc["ModelName"])
        if model is None:
            raise JobFailure(f"ClientError: the model {doc['ModelName']} was deleted before the job started.")
        container = model.get("PrimaryContainer") or model["Containers"][0]
        module = image_module(container["Image"])
        unpack_model(container.get("ModelDataUrl"), self.root / "model")
        stream = f"{self.name}/{uuid.uuid4().hex[:17]}"
        sink = self.sink = LogSink(self.service.region, LOG_GROUP, stream)
        env = {
            **unpack_source(container.get("Environment", {}), self.root),
            **(doc.get("Environment") or {}),
            "SAGEMAKER_BATCH": "true",
            IMAGE_URI_ENV: container["Image"],
            "SAGEMAKER_MAX_PAYLOAD_IN_MB": str(doc["MaxPayloadInMB"]),
            "SAGEMAKER_BATCH_STRATEGY": _strategy_env(doc["BatchStrategy"]),
        }
        self.server = ModelServer(module, self.root, sink.write, env)
        try:
            self.server.wait_until_healthy()
        except ModelServerError as exc:
            raise JobFailure(f"ClientError: {exc}") from exc

    def _transform_all(self, doc: dict[str, Any]) -> None:
        source = parse_s3_uri(doc["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"], "S3Uri")
        keys = moto_backends.list_keys(source)
        if not keys:
            raise JobFailure(
                f"ClientError: No input data found at {source.uri}: upload it first or fix the S3 URI."
            )
        output = parse_s3_uri(doc["TransformOutput"]["S3OutputPath"], "S3OutputPath")
        base = source.key.rsplit("/", 1)[0] + "/" if "/" in source.key else ""
        for key in keys:
            if self._stop.is_set():
                return
            body = moto_backends.get_object(source.bucket, key) or b""
            result = self._transform_object(doc, f"s3://{source.bucket}/{key}", body)
            out_key = "/".join(p for p in (output.key.strip("/"), key[len(base) :] + ".out") if p)
            moto_backends.put_object(output.bucket, out_key, result)

    def _transform_object(self, doc: dict[str, Any], uri: str, body: bytes) -> bytes:
        content_type = doc["TransformInput"].get("ContentType", "text/csv")
        accept = doc["TransformOutput"].get("Accept")  # absent: the container picks its default
        joiner = b"\n" if doc["TransformOutput"]["AssembleWith"] == "Line" else b""
        parts = []
        for payload in _payloads(body, doc):
            if self._stop.is_set():
                break
            assert self.server is not None
            try:
                answer = self.server.invoke(payload, content_type, accept)
            except ModelTimeout as exc:
                raise JobFailure(f"ClientError: {exc} while transforming {uri}") from exc
            except ModelUnreachable as exc:
                raise JobFailure(
                    f"ClientError: the model server stopped while transforming {uri}: {exc}"
                ) from exc
            if answer.failed:
                raise JobFailure(
                    f"ClientError: the model server returned {answer.status} for a record of {uri}: "
                    f"{answer.message[:500]}"
                )
            parts.append(answer.body.rstrip(b"\n") if joiner else answer.body)
        result = joiner.join(parts)
        return result + joiner if joiner and result else result


def _check_output_bucket(doc: dict[str, Any]) -> None:
    # Checked before the model server starts: the job could not write a single result.
    output = parse_s3_uri(doc["TransformOutput"]["S3OutputPath"], "S3OutputPath")
    require_output_bucket(output.bucket, "TransformOutput.S3OutputPath", "no results could be written")


def _strategy_env(strategy: str) -> str:
    return "MULTI_RECORD" if strategy == "MultiRecord" else "SINGLE_RECORD"


def _payloads(body: bytes, doc: dict[str, Any]) -> Iterator[bytes]:
    """Split an object into requests as SplitType, BatchStrategy and MaxPayloadInMB ask."""
    if doc["TransformInput"]["SplitType"] != "Line":
        if body:
            yield body
        return
    records = [line + b"\n" for line in body.splitlines() if line.strip()]
    if doc["BatchStrategy"] == "SingleRecord":
        yield from records
        return
    limit = doc["MaxPayloadInMB"] * MB
    batch: list[bytes] = []
    size = 0
    for record in records:
        if batch and size + len(record) > limit:
            yield b"".join(batch)
            batch, size = [], 0
        batch.append(record)
        size += len(record)
    if batch:
        yield b"".join(batch)
