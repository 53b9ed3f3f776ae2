"""A training job's run: lay out /opt/ml, fetch channels, run the algorithm, upload the model."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

from helpers.local.aws import backends as moto_backends
from helpers.local.aws.metrics.store import MetricPoint, dimensions_key
from helpers.local.containers.images import image_module
from helpers.local.containers.logs import LogSink
from helpers.local.containers.metrics import MetricScraper, check_metric_definitions
from helpers.local.containers.runner import Container
from helpers.local.core.config import stop_grace_seconds
from helpers.local.core.errors import JobFailure, ResourceInUse, ValidationException
from helpers.local.core.paths import UnsafePath, child, inside, relative_key_path, remove_tree
from helpers.local.core.s3_uri import parse_s3_uri
from helpers.local.images import UnknownImageError, algorithm_metrics
from helpers.local.images.toolkit.entrypoint import to_local
from helpers.local.images.toolkit.framework_version import IMAGE_URI_ENV
from helpers.local.jobs import quotas
from helpers.local.jobs.lifecycle import INTERRUPTED_REASON, add_transition, close_transitions
from helpers.local.jobs.manifests import manifest_objects
from helpers.local.jobs.runs import NameInUse

log = logging.getLogger("helpers.local.jobs")
KIND = "TrainingJob"
DEFAULT_MAX_RUNTIME = 24 * 60 * 60  # SageMaker's default when StoppingCondition leaves it out
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
METRICS_NAMESPACE = "/aws/sagemaker/TrainingJobs"  # where SageMaker puts training metrics in CloudWatch
# The hyperparameter a tuning job gives its training jobs: the metric whose history it watches.
OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"
MAX_RUNTIME_MESSAGE = "Training job runtime exceeded MaxRuntimeInSeconds provided"
SUPPORTED_DATA_TYPES = {"S3Prefix", "ManifestFile"}
# Script mode: the SDK's sourcedir.tar.gz, which the run unpacks into the job's code/ folder.
SUBMIT_DIR_PARAM = "sagemaker_submit_directory"
# The SDK's ModelTrainer ships its driver scripts as this channel; they name /opt/ml paths.
DRIVERS_CHANNEL = "sm_drivers"
# CreateTrainingJob members Describe echoes only when they were given.
OPTIONAL_MEMBERS = ("VpcConfig", "CheckpointConfig", "Environment", "RetryStrategy", "ExperimentConfig")


def require_output_bucket(bucket: str, field: str, consequence: str) -> None:
    """JobFailure naming the bucket when the job's output has nowhere to go."""
    if not moto_backends.bucket_exists(bucket):
        raise JobFailure(
            f"ClientError: the S3 bucket '{bucket}' of {field} does not exist, so {consequence}: create the "
            "bucket (for example with session.default_bucket() or s3.create_bucket) and start the job again."
        )


class TrainingJobRun:
    def __init__(self, service, name: str):
        self.service = service
        self.name = name
        self.jobs_dir: Path = service.config.work_dir / "training-jobs"
        self.root: Path = child(self.jobs_dir, name)
        self.container: Container | None = None
        self.sink: LogSink | None = None
        self.metrics: MetricScraper | None = None  # live metrics, read by tuning jobs for early stopping
        self.started = 0.0
        self._stop = threading.Event()
        self.stop_reason = "Training job stopped by the user"
        self.algorithm_seconds = 0.0

    def stop(self, reason: str | None = None) -> None:
        if reason:
            self.stop_reason = reason  # e.g. a tuning job's early-stopping rule says why
        self._stop.set()
        if self.container is not None:
            self.container.stop()

    def _update(self, change) -> dict[str, Any]:
        return self.service.store.update(KIND, self.name, change)

    def _transition(self, status: str, message: str, **fields: Any) -> None:
        def change(doc: dict[str, Any]) -> None:
            if doc["TrainingJobStatus"] == "Stopping" and status != "Stopped":
                return
            doc.update(fields)
            add_transition(doc, status, message)

        self._update(change)

    def run(self) -> None:
        doc = self.service.store.get(KIND, self.name)
        started = self.started = time.time()
        try:
            self._transition("Downloading", "Downloading input data", TrainingStartTime=started)
            self._prepare(doc)
            self._check_stopped()
            self._transition("Training", "Training image download completed. Training in progress.")
            try:
                self._train(doc)
            except _MaxRuntimeExceeded:
                # As on SageMaker, what the algorithm saved before it was stopped is the model
                # artifact; a failing upload fails the job like any other.
                self._upload(doc)
                self._finish(started, "Stopped", "MaxRuntimeExceeded", MAX_RUNTIME_MESSAGE)
                return
            self._check_stopped()
            self._transition("Uploading", "Uploading generated training model")
            self._upload(doc)
            self._finish(started, "Completed", "Completed", "Training job completed")
        except _Stopped:
            self._finish(started, "Stopped", "Stopped", self.stop_reason)
        except JobFailure as failure:
            self._fail(started, str(failure))
        except Exception as exc:  # never leave a job InProgress forever
            self._fail(
                started, f"InternalServerError: the local service failed while running the job: {exc!r}"
            )

    def _fail(self, started: float, reason: str) -> None:
        if self.service.stopping.is_set():
            # The service is stopping and ended the container: not the algorithm's fault.
            reason = INTERRUPTED_REASON
        self._finish(started, "Failed", "Failed", "Training job failed", FailureReason=reason)

    def _remove_copies(self) -> None:
        # The channels are copies of S3 objects and can be large; what a learner may still look at
        # (output/failure, the configuration, the model the artifact was packed from) stays.
        try:
            remove_tree(self.root / "input" / "data", self.root)
        except (UnsafePath, OSError) as exc:  # the algorithm replaced the folder with a link: leave it
            log.warning("training job %s: channel copies not removed: %s", self.name, exc)

    def _check_stopped(self) -> None:
        if self._stop.is_set():
            raise _Stopped()

    def _prepare(self, doc: dict[str, Any]) -> None:
        if self.root.exists():
            remove_tree(self.root, self.jobs_dir)
        config = self.root / "input" / "config"
        config.mkdir(parents=True)
        (self.root / "model").mkdir()
        (self.root / "output" / "data").mkdir(parents=True)
        (config / "hyperparameters.json").write_text(
            json.dumps({k: str(v) for k, v in doc.get("HyperParameters", {}).items()})
        )
        (config / "inputdataconfig.json").write_text(json.dumps(_input_data_config(doc)))
        resource_config = {
            "current_host": "algo-1",
            "hosts": ["algo-1"],
            "network_interface_name": "lo",
            "current_instance_type": doc["ResourceConfig"].get("InstanceType", "local"),
            "current_group_name": "homogeneousCluster",
        }
        (config / "resourceconfig.json").write_text(json.dumps(resource_config))
        for channel in doc.get("InputDataConfig", []):
            self._download_channel(channel)
        self._fetch_source_dir(doc.get("HyperParameters", {}))

    def _fetch_source_dir(self, hyperparameters: dict[str, Any]) -> None:
        """Script mode: unpack ``sagemaker_submit_directory`` into ``code/`` (the toolkit's /opt/ml/code).

        On SageMaker the container downloads it itself; here it cannot reach S3, so the run does.
        """
        raw = hyperparameters.get(SUBMIT_DIR_PARAM)
        if raw is None:
            return
        try:
            uri = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            uri = raw  # the SDK JSON-encodes it; a plain string is accepted as the toolkit does
        uri = str(uri)
        target = self.root / "code"
        if uri.startswith("s3://"):
            try:
                location = parse_s3_uri(uri, SUBMIT_DIR_PARAM)
            except ValidationException as exc:
                raise JobFailure(f"ClientError: {exc}") from exc
            body = moto_backends.get_object(location.bucket, location.key)
            if body is None:
                raise JobFailure(
                    f"ClientError: the source directory {uri} (hyperparameter {SUBMIT_DIR_PARAM}) does "
                    "not exist in S3: upload sourcedir.tar.gz there, or let the SDK do it with source_dir."
                )
            _unpack(body, target, uri)
            return
        local = Path(uri.removeprefix("file://"))
        if local.is_dir():
            shutil.copytree(local, target, symlinks=True)
        elif local.is_file():
            _unpack(local.read_bytes(), target, uri)
        else:
            raise JobFailure(
                f"ClientError: the source directory {uri} (hyperparameter {SUBMIT_DIR_PARAM}) is neither "
                "an S3 URI nor a folder or .tar.gz file on this machine."
            )

    def _download_channel(self, channel: dict[str, Any]) -> None:
        name = channel["ChannelName"]
        source = channel["DataSource"]["S3DataSource"]
        location = parse_s3_uri(source["S3Uri"], name)
        if source["S3DataType"] == "ManifestFile":
            self._download_manifest(name, location)
            return
        keys = moto_backends.list_keys(location)
        if not keys:
            raise JobFailure(
                f"ClientError: No data found for channel '{name}' at {location.uri}: upload the "
                "data first, or fix the S3 URI."
            )
        try:
            target = child(self.root / "input" / "data", name)
        except UnsafePath as exc:
            raise JobFailure(f"ClientError: channel name {exc}") from exc
        target.mkdir(parents=True)
        # As SageMaker: under a prefix that is a folder (``.../sm_drivers`` holding ``.../sm_drivers/a.sh``)
        # a file keeps its path below that folder; one the prefix only partly names keeps its name.
        parent = location.key.rsplit("/", 1)[0] + "/" if "/" in location.key else ""
        folder = location.key.rstrip("/") + "/"
        written: dict[Path, str] = {}
        for key in keys:
            base = folder if key.startswith(folder) else parent
            try:
                path = inside(target, relative_key_path(key, base))
                if path in written:
                    raise UnsafePath(
                        f"the S3 object keys '{written[path]}' and '{key}' differ only in repeated '/' and "
                        "would become the same file: keep one of them."
                    )
                written[path] = key
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(moto_backends.get_object(location.bucket, key) or b"")
            except UnsafePath as exc:
                raise JobFailure(f"ClientError: channel '{name}': {exc}") from exc
            except (NotADirectoryError, FileExistsError, IsADirectoryError) as exc:
                raise JobFailure(
                    f"ClientError: channel '{name}': the S3 object key '{key}' is both a file and a folder "
                    f"under {location.uri}; rename one of them."
                ) from exc
        if name == DRIVERS_CHANNEL:
            _map_container_paths(list(written), self.root)

    def _download_manifest(self, name: str, location: Any) -> None:
        """A ManifestFile channel (what the SDK's ``record_set`` uploads): ``[{"prefix": "s3://b/p/"},
        "relative/key", ...]``; each object is staged in the channel under its relative key."""
        objects = manifest_objects(location, f"channel '{name}'")
        target = child(self.root / "input" / "data", name)
        target.mkdir(parents=True)
        for bucket, key, relative in objects:
            data = moto_backends.get_object(bucket, key)
            if data is None:
                raise JobFailure(
                    f"ClientError: the manifest file {location.uri} of channel '{name}' lists "
                    f"s3://{bucket}/{key}, which does not exist."
                )
            try:
                path = inside(target, relative_key_path(relative, ""))
            except UnsafePath as exc:
                raise JobFailure(f"ClientError: channel '{name}': {exc}") from exc
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def _train(self, doc: dict[str, Any]) -> None:
        image = doc["AlgorithmSpecification"]["TrainingImage"]
        module = image_module(image)
        deadline = self.started + doc["StoppingCondition"].get("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME)
        if time.time() >= deadline:
            raise _MaxRuntimeExceeded()
        # The document already holds the algorithm's definitions (and the user's after them).
        definitions = doc["AlgorithmSpecification"].get("MetricDefinitions", [])
        objective = doc.get("HyperParameters", {}).get(OBJECTIVE_HYPERPARAMETER)
        self.metrics = MetricScraper(
            definitions, tracked=[objective] if objective else [], publish=self._publish_metrics
        )
        stream = f"{self.name}/algo-1-{int(time.time())}"
        sink = self.sink = LogSink(self.service.region, LOG_GROUP, stream, on_line=self.metrics.feed)
        environment = {
            **(doc.get("Environment") or {}),
            IMAGE_URI_ENV: image,
            # What SageMaker sets in every training container.
            "TRAINING_JOB_NAME": self.name,
            "TRAINING_JOB_ARN": doc["TrainingJobArn"],
        }
        spec = doc["AlgorithmSpecification"]
        own_command = spec.get("ContainerEntrypoint")
        if own_command:
            own_command = own_command + spec.get("ContainerArguments", [])
        self.container = Container(module, "train", self.root, sink.write, environment, own_command)
        if self._stop.is_set():
            self.container.stop()
        exceeded = self._wait_until(deadline)
        code = self.container.wait()
        sink.close()
        self.algorithm_seconds = time.time() - self.container.started
        self._record_metrics()
        if exceeded:
            raise _MaxRuntimeExceeded()
        self._check_stopped()
        if code != 0:
            raise JobFailure(self._failure_reason(code))

    def _wait_until(self, deadline: float) -> bool:
        """Wait for the algorithm; at ``deadline`` stop it as SageMaker does. True if it was stopped so."""
        assert self.container is not None
        try:
            self.container.proc.wait(timeout=max(0.0, deadline - time.time()))
            return False
        except subprocess.TimeoutExpired:
            pass
        if self._stop.is_set() or not self._mark_stopping():
            return False  # StopTrainingJob came first
        # SIGTERM, then SIGKILL after the grace period in which the algorithm can save its model.
        self.container.stop(timeout=stop_grace_seconds())
        return True

    def _mark_stopping(self) -> bool:
        stopping: list[bool] = []

        def change(d: dict[str, Any]) -> None:
            stopping.append(d["TrainingJobStatus"] == "InProgress")
            if stopping[0]:
                d["TrainingJobStatus"] = "Stopping"
                add_transition(d, "Stopping", "Stopping the training job: it reached MaxRuntimeInSeconds")

        self._update(change)
        return stopping == [True]

    def _publish_metrics(self, values: list[tuple[str, float, float]]) -> None:
        """Put metric values into CloudWatch as SageMaker does: namespace /aws/sagemaker/TrainingJobs,
        dimension TrainingJobName."""
        dimensions = dimensions_key([{"Name": "TrainingJobName", "Value": self.name}])
        points = [
            MetricPoint(METRICS_NAMESPACE, name, dimensions, when, value) for name, when, value in values
        ]
        moto_backends.put_metric_points(self.service.region, points)

    def _record_metrics(self) -> None:
        values = self.metrics.final_metrics() if self.metrics else []
        if values:
            self._update(lambda d: d.update(FinalMetricDataList=values))

    def _failure_reason(self, code: int) -> str:
        failure = self.root / "output" / "failure"
        text = failure.read_text().strip() if failure.exists() else ""
        if not text:
            tail = " | ".join(self.sink.tail(3) if self.sink else [])
            text = f"the algorithm exited with code {code}. Last log lines: {tail}"
        if text.split(":", 1)[0] in ("ClientError", "AlgorithmError"):
            return text
        return f"AlgorithmError: {text}"

    def _upload(self, doc: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
            for path in sorted((self.root / "model").rglob("*")):
                tar.add(path, arcname=str(path.relative_to(self.root / "model")))
        location = parse_s3_uri(doc["ModelArtifacts"]["S3ModelArtifacts"], "S3ModelArtifacts")
        require_output_bucket(
            location.bucket, "OutputDataConfig.S3OutputPath", "the model artifact could not be uploaded"
        )
        moto_backends.put_object(location.bucket, location.key, buffer.getvalue())
        self._upload_output_data(location.bucket, location.key)

    def _upload_output_data(self, bucket: str, model_key: str) -> None:
        """What the algorithm left in ``output/data`` becomes ``output/output.tar.gz`` beside the model."""
        data = self.root / "output" / "data"
        files = sorted(data.rglob("*")) if data.is_dir() else []
        if not files:
            return
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
            for path in files:
                tar.add(path, arcname=str(path.relative_to(data)), recursive=False)
        key = model_key.rsplit("/", 1)[0] + "/output.tar.gz" if "/" in model_key else "output.tar.gz"
        moto_backends.put_object(bucket, key, buffer.getvalue())

    def _finish(self, started: float, status: str, secondary: str, message: str, **fields: Any) -> None:
        self._remove_copies()  # before the job reads as ended, so a client never sees them linger
        ended = time.time()
        seconds = max(1, round(ended - started))

        def change(doc: dict[str, Any]) -> None:
            doc.update(fields)
            doc["TrainingJobStatus"] = status
            add_transition(doc, secondary, message)
            close_transitions(doc)
            doc["TrainingEndTime"] = ended
            doc["TrainingTimeInSeconds"] = seconds
            doc["BillableTimeInSeconds"] = seconds

        self._update(change)


class _Stopped(Exception):
    pass


class _MaxRuntimeExceeded(Exception):
    pass


def _map_container_paths(files: list[Path], root: Path) -> None:
    """Point the ``/opt/ml`` paths in these text files (scripts, JSON) at the job's folder ``root``."""
    for path in files:
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue  # a binary file (compiled Python) is rebuilt from its mapped source
        mapped = to_local(text, root)
        if mapped != text:
            path.write_text(mapped)


def _unpack(archive: bytes, target: Path, uri: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            tar.extractall(target, filter="data")  # no absolute paths, links out or devices
    except (tarfile.TarError, OSError) as exc:
        raise JobFailure(
            f"ClientError: the source directory {uri} (hyperparameter {SUBMIT_DIR_PARAM}) could not be "
            f"unpacked as a .tar.gz archive: {exc}"
        ) from exc


def _input_data_config(doc: dict[str, Any]) -> dict[str, Any]:
    config = {}
    for channel in doc.get("InputDataConfig", []):
        entry = {
            "TrainingInputMode": channel.get("InputMode")
            or doc["AlgorithmSpecification"].get("TrainingInputMode", "File"),
            "S3DataDistributionType": channel["DataSource"]["S3DataSource"]["S3DataDistributionType"],
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
        if "ContentType" in channel:
            entry["ContentType"] = channel["ContentType"]
        config[channel["ChannelName"]] = entry
    return config


def _check_channels(channels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = [c["ChannelName"] for c in channels]
    for name in names:
        # The API's pattern lets these through, but each channel is a folder under
        # /opt/ml/input/data: '.' would be that folder itself and '..' its parent.
        if name in (".", ".."):
            raise ValidationException(
                f"Channel name '{name}' is not allowed: each channel becomes the folder "
                "/opt/ml/input/data/<ChannelName>. Use a name with a letter or digit, such as 'train'."
            )
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValidationException(f"Channel names must be unique; repeated: {', '.join(sorted(duplicates))}.")
    filled = []
    for channel in channels:
        source = channel["DataSource"].get("S3DataSource")
        if source is None:
            raise ValidationException(
                f"Channel '{channel['ChannelName']}': the local service reads training data from S3 "
                "only; pass DataSource.S3DataSource."
            )
        if source["S3DataType"] not in SUPPORTED_DATA_TYPES:
            raise ValidationException(
                f"Channel '{channel['ChannelName']}': S3DataType {source['S3DataType']} is not "
                "supported locally; use S3Prefix or ManifestFile."
            )
        parse_s3_uri(source["S3Uri"], f"Channel '{channel['ChannelName']}' S3Uri")
        source.setdefault("S3DataDistributionType", "FullyReplicated")
        channel.setdefault("CompressionType", "None")
        channel.setdefault("RecordWrapperType", "None")
        filled.append(channel)
    return filled


def training_job_document(
    service, params: dict[str, Any], tuning_job_arn: str | None = None
) -> dict[str, Any]:
    """The DescribeTrainingJob document of a job about to start (also used by tuning jobs)."""
    name = params["TrainingJobName"]
    algorithm = dict(params["AlgorithmSpecification"])
    if "TrainingImage" not in algorithm:
        raise ValidationException(
            "AlgorithmSpecification.TrainingImage is required locally (AlgorithmName refers to "
            "marketplace algorithms, which the local service does not have)."
        )
    algorithm.setdefault("EnableSageMakerMetricsTimeSeries", False)
    own = algorithm.get("MetricDefinitions", [])
    check_metric_definitions(own, "AlgorithmSpecification.MetricDefinitions")
    # Describe shows a built-in algorithm's own definitions, as AWS does; the user's come after.
    try:
        builtin = algorithm_metrics(algorithm["TrainingImage"], params.get("HyperParameters"))
    except UnknownImageError:
        builtin = []
    own_names = {d["Name"] for d in own}
    merged = [{"Name": d["Name"], "Regex": d["Regex"]} for d in builtin if d["Name"] not in own_names] + own
    if merged:
        algorithm["MetricDefinitions"] = merged
    output = dict(params["OutputDataConfig"])
    output_path = parse_s3_uri(output["S3OutputPath"], "OutputDataConfig.S3OutputPath")
    output.setdefault("KmsKeyId", "")  # the SDK's Estimator.attach reads it unconditionally
    timestamp = time.time()
    artifact = f"s3://{output_path.bucket}/{_join(output_path.key, name, 'output/model.tar.gz')}"
    doc = {
        "TrainingJobName": name,
        "TrainingJobArn": service.arn("training-job", name),
        "TuningJobArn": tuning_job_arn,
        "ModelArtifacts": {"S3ModelArtifacts": artifact},
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Starting",
        "HyperParameters": params.get("HyperParameters", {}),
        "AlgorithmSpecification": algorithm,
        "RoleArn": params["RoleArn"],
        "OutputDataConfig": output,
        "ResourceConfig": params["ResourceConfig"],
        "StoppingCondition": params["StoppingCondition"],
        "CreationTime": timestamp,
        "LastModifiedTime": timestamp,
        "SecondaryStatusTransitions": [],
        "EnableNetworkIsolation": params.get("EnableNetworkIsolation", False),
        "EnableInterContainerTrafficEncryption": params.get("EnableInterContainerTrafficEncryption", False),
        "EnableManagedSpotTraining": params.get("EnableManagedSpotTraining", False),
        **{key: params[key] for key in OPTIONAL_MEMBERS if key in params},
    }
    if "InputDataConfig" in params:  # a job may have no channel at all; Describe then leaves it out
        doc["InputDataConfig"] = _check_channels([dict(c) for c in params["InputDataConfig"]])
    add_transition(doc, "Starting", "Launching requested ML instances")
    return doc


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


def start_training_job(service, doc: dict[str, Any], tags: list[dict[str, str]] | None = None) -> None:
    """Store the job and start its run, or ResourceInUse / ResourceLimitExceeded and nothing started."""
    name = doc["TrainingJobName"]
    arn = doc["TrainingJobArn"]
    already_exists = ResourceInUse(
        f"Training job names must be unique within an AWS account and region, and a training job "
        f"with this name already exists ({arn}). Choose another name."
    )
    with quotas.LOCK:  # the instances are counted from stored jobs: check and store as one step
        quotas.check_training_job(service, doc["ResourceConfig"])
        run = TrainingJobRun(service, name)

        def create() -> None:
            if not service.store.insert(KIND, name, arn, doc, tags):
                raise already_exists

        try:
            service.runs.start(KIND, name, run, create)
        except NameInUse:
            raise already_exists from None
