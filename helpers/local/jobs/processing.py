"""A processing job's run: inputs from S3 into /opt/ml/processing, the job's command, outputs to S3.

Followed from the SageMaker developer guide ("How Amazon SageMaker Processing Runs Your Processing
Container Image", "... Configures Input and Output", "... Provides Information About Your
Processing Container", "Save and Access Metadata Information About Your Processing Job") and the
API reference of CreateProcessingJob/DescribeProcessingJob: the container runs
``ContainerEntrypoint`` + ``ContainerArguments`` with ``Environment`` set, its inputs already under
their ``LocalPath``; after exit code 0 each ``S3Output`` is uploaded from its ``LocalPath``; a
non-zero exit fails the job with "AlgorithmError: See job logs for more information"; the first KB
of ``/opt/ml/output/message`` is the ``ExitMessage``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
from pathlib import Path, PurePosixPath
from typing import Any

from helpers.local.aws import backends as moto_backends
from helpers.local.containers.images import image_module
from helpers.local.containers.logs import LogSink
from helpers.local.containers.runner import Container
from helpers.local.core.config import stop_grace_seconds
from helpers.local.core.errors import JobFailure
from helpers.local.core.paths import UnsafePath, child, inside, is_within, relative_key_path, remove_tree
from helpers.local.core.s3_uri import parse_s3_uri
from helpers.local.jobs.lifecycle import INTERRUPTED_REASON
from helpers.local.jobs.manifests import manifest_objects
from helpers.local.jobs.training import require_output_bucket

log = logging.getLogger("helpers.local.jobs")
KIND = "ProcessingJob"
LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
PROCESSING_ROOT = "/opt/ml/processing"
DEFAULT_MAX_RUNTIME = 24 * 60 * 60  # ProcessingStoppingCondition's default
ALGORITHM_ERROR = "AlgorithmError: See job logs for more information"
MAX_RUNTIME_MESSAGE = "Processing job runtime exceeded MaxRuntimeInSeconds provided"
EXIT_MESSAGE_BYTES = 1024
# The request members processingjobconfig.json carries, as the platform writes it.
CONFIG_MEMBERS = (
    "ProcessingJobArn", "ProcessingJobName", "AppSpecification", "Environment", "NetworkConfig",
    "ProcessingInputs", "ProcessingOutputConfig", "ProcessingResources", "RoleArn", "StoppingCondition",
)  # fmt: skip
OPT_ML_HINT = (
    " The job's script did not find a file under /opt/ml. Locally /opt/ml is the job's folder: Python "
    "code inside the container sees /opt/ml/processing/... through open(), os, pathlib, pandas and "
    "numpy, but C extensions and programs other than Python do not. Read and write only the LocalPath "
    "folders of the job's ProcessingInputs and ProcessingOutputs, and take them from the script's "
    "arguments (or os.environ) rather than building other /opt/ml paths."
)


def local_path(root: Path, container_path: str) -> Path:
    """Where ``/opt/ml/processing/...`` lies in the job's folder; UnsafePath if it would leave it."""
    relative = PurePosixPath(container_path).relative_to("/opt/ml")
    if any(part in (".", "..") for part in PurePosixPath(container_path).parts):
        raise UnsafePath(f"LocalPath '{container_path}' has a '.' or '..' segment.")
    return inside(root, relative)


class ProcessingJobRun:
    def __init__(self, service, name: str):
        self.service = service
        self.name = name
        self.jobs_dir: Path = service.config.work_dir / "processing-jobs"
        self.root: Path = child(self.jobs_dir, name)
        self.container: Container | None = None
        self.sink: LogSink | None = None
        self._stop = threading.Event()

    def stop(self, reason: str | None = None) -> None:
        self._stop.set()
        if self.container is not None:
            self.container.stop()

    def _update(self, change) -> dict[str, Any]:
        return self.service.store.update(KIND, self.name, change)

    def run(self) -> None:
        doc = self.service.store.get(KIND, self.name)
        started = time.time()
        self._update(lambda d: d.update(ProcessingStartTime=started, LastModifiedTime=started))
        try:
            self._prepare(doc)
            if self._stop.is_set():
                self._finish("Stopped")
                return
            outcome = self._process(doc, started)
            if outcome == "stopped":
                self._finish("Stopped", **self._exit_message())
            elif outcome == "timeout":
                self._finish("Stopped", **self._exit_message(MAX_RUNTIME_MESSAGE))
            else:
                self._upload_outputs(doc)
                self._finish("Completed", **self._exit_message())
        except JobFailure as failure:
            self._fail(str(failure))
        except Exception as exc:  # never leave a job InProgress forever
            log.exception("processing job %s", self.name)
            self._fail(f"InternalServerError: the local service failed while running the job: {exc!r}")

    def _fail(self, reason: str) -> None:
        if self.service.stopping.is_set():
            reason = INTERRUPTED_REASON  # the service ended the container: not the script's fault
        self._finish("Failed", FailureReason=reason[:EXIT_MESSAGE_BYTES], **self._exit_message())

    def _exit_message(self, default: str | None = None) -> dict[str, str]:
        message = self.root / "output" / "message"
        text = ""
        if message.is_file() and is_within(message, self.root):
            text = message.read_bytes()[:EXIT_MESSAGE_BYTES].decode("utf-8", errors="replace")
        text = text or default or ""
        return {"ExitMessage": text} if text else {}

    def _prepare(self, doc: dict[str, Any]) -> None:
        if self.root.exists():
            remove_tree(self.root, self.jobs_dir)
        config = self.root / "config"
        config.mkdir(parents=True)
        (self.root / "output").mkdir()
        (config / "processingjobconfig.json").write_text(
            json.dumps({key: doc[key] for key in CONFIG_MEMBERS if key in doc}, indent=2)
        )
        (config / "resourceconfig.json").write_text(
            json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]})
        )
        for item in doc.get("ProcessingInputs", []):
            if "S3Input" in item:
                self._download(item["InputName"], item["S3Input"])
        for output in doc.get("ProcessingOutputConfig", {}).get("Outputs", []):
            if "S3Output" in output:
                self._folder(output["OutputName"], output["S3Output"]["LocalPath"]).mkdir(
                    parents=True, exist_ok=True
                )

    def _folder(self, name: str, container_path: str) -> Path:
        try:
            return local_path(self.root, container_path)
        except UnsafePath as exc:
            raise JobFailure(f"ClientError: '{name}': {exc}") from exc

    def _objects(self, name: str, source: dict[str, Any]) -> list[tuple[str, str, str]]:
        """``(bucket, key, relative path)`` of each object the input copies."""
        location = parse_s3_uri(source["S3Uri"], name)
        if source["S3DataType"] == "ManifestFile":
            return manifest_objects(location, f"input '{name}'")
        keys = moto_backends.list_keys(location)
        if not keys:
            raise JobFailure(
                f'ClientError: No S3 objects found under S3 URL "{location.uri}" given in input data source '
                f"'{name}': upload the data first, or fix the S3 URI."
            )
        base = location.key.rsplit("/", 1)[0] + "/" if "/" in location.key else ""
        return [(location.bucket, key, str(relative_key_path(key, base))) for key in keys]

    def _download(self, name: str, source: dict[str, Any]) -> None:
        target = self._folder(name, source["LocalPath"])
        target.mkdir(parents=True, exist_ok=True)
        try:
            for bucket, key, relative in self._objects(name, source):
                path = inside(target, relative_key_path(relative, ""))
                body = moto_backends.get_object(bucket, key)
                if body is None:
                    raise JobFailure(f"ClientError: input '{name}': s3://{bucket}/{key} does not exist.")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)
        except UnsafePath as exc:
            raise JobFailure(f"ClientError: input '{name}': {exc}") from exc
        except (NotADirectoryError, FileExistsError, IsADirectoryError) as exc:
            raise JobFailure(
                f"ClientError: input '{name}': an S3 object key is both a file and a folder: {exc}"
            ) from exc

    def _process(self, doc: dict[str, Any], started: float) -> str:
        """Run the container: "completed", "stopped" or "timeout"; JobFailure on a non-zero exit."""
        module = image_module(doc["AppSpecification"]["ImageUri"])
        if not doc["AppSpecification"].get("ContainerEntrypoint"):
            raise JobFailure(
                "ClientError: the local service cannot run an image's own ENTRYPOINT: pass "
                "AppSpecification.ContainerEntrypoint (for example ['python3', "
                "'/opt/ml/processing/input/code/preprocess.py']), as the SDK's processors do."
            )
        limit = doc.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME)
        stream = f"{self.name}/algo-1-{int(time.time())}"
        sink = self.sink = LogSink(self.service.region, LOG_GROUP, stream)
        self.container = Container(module, "process", self.root, sink.write, doc.get("Environment"))
        if self._stop.is_set():
            self.container.stop()
        timed_out = False
        try:
            self.container.proc.wait(timeout=max(0.0, started + limit - time.time()))
        except subprocess.TimeoutExpired:
            timed_out = self._mark_stopping()
            self.container.stop(timeout=stop_grace_seconds())
        code = self.container.wait()
        sink.close()
        if self._stop.is_set():
            return "stopped"
        if timed_out:
            return "timeout"
        if code != 0:
            tail = "\n".join(sink.tail(LogSink.TAIL_LINES))
            missing = "FileNotFoundError" in tail and "/opt/ml" in tail
            raise JobFailure(ALGORITHM_ERROR + (OPT_ML_HINT if missing else ""))
        return "completed"

    def _mark_stopping(self) -> bool:
        stopping: list[bool] = []

        def change(d: dict[str, Any]) -> None:
            stopping.append(d["ProcessingJobStatus"] == "InProgress")
            if stopping[0]:
                d["ProcessingJobStatus"] = "Stopping"
                d["LastModifiedTime"] = time.time()

        self._update(change)
        return stopping == [True]

    def _upload_outputs(self, doc: dict[str, Any]) -> None:
        for output in doc.get("ProcessingOutputConfig", {}).get("Outputs", []):
            if "S3Output" not in output:
                continue
            name, target = output["OutputName"], output["S3Output"]
            location = parse_s3_uri(target["S3Uri"], name)
            folder = self._folder(name, target["LocalPath"])
            files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
            if not files:
                continue
            require_output_bucket(
                location.bucket, f"output '{name}'", "the job's output could not be uploaded"
            )
            prefix = location.key.rstrip("/")
            for path in files:
                if not is_within(path, folder):
                    continue  # a link the script left pointing out of its folder
                relative = path.relative_to(folder).as_posix()
                moto_backends.put_object(
                    location.bucket, f"{prefix}/{relative}" if prefix else relative, path.read_bytes()
                )

    def _finish(self, status: str, **fields: Any) -> None:
        try:
            remove_tree(self.root / "processing", self.root)  # copies of S3 objects, possibly large
        except (UnsafePath, OSError) as exc:
            log.warning("processing job %s: input copies not removed: %s", self.name, exc)
        ended = time.time()

        def change(doc: dict[str, Any]) -> None:
            doc.update(fields)
            doc["ProcessingJobStatus"] = status
            doc["ProcessingEndTime"] = ended
            doc["LastModifiedTime"] = ended

        self._update(change)
