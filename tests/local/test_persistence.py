"""S3 objects and CloudWatch Logs outlive a stop/start and a kill -9 of the service."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError, FlexibleChecksumError

from helpers.local import control
from helpers.local.core.config import ServiceConfig, load_config
from tests.conftest import free_port
from tests.service_helpers import regression_csv, session_for, training_request, wait_training, wait_until

BUCKET = "persistence-test"


@pytest.fixture
def config(tmp_path) -> Iterator[ServiceConfig]:
    config = load_config(free_port(), tmp_path / "state")
    control.start(config)
    yield config
    control.stop(config)


def _client(config: ServiceConfig, name: str):
    return session_for(config).client(name, endpoint_url=config.url)


def _restart(config: ServiceConfig, crash: bool) -> None:
    if crash:
        pid = control.health(config)["pid"]
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: control.health(config) is None, "the killed service stops answering")
    else:
        assert control.stop(config)
    control.start(config)


def _objects_seen(s3) -> dict[str, object]:
    """What a learner sees of the bucket: the listing, and each object's head and body."""
    listing = s3.list_objects_v2(Bucket=BUCKET)
    seen: dict[str, object] = {
        "list": [(o["Key"], o["ETag"], o["Size"], o["LastModified"]) for o in listing.get("Contents", [])]
    }
    for key, *_ in seen["list"]:
        head = s3.head_object(Bucket=BUCKET, Key=key)
        fields = ("ETag", "ContentType", "ContentLength", "LastModified", "Metadata")
        seen[key] = (
            {field: head[field] for field in fields},
            s3.get_object(Bucket=BUCKET, Key=key)["Body"].read(),
        )
    return seen


@pytest.mark.parametrize("crash", [False, True], ids=["stop-start", "kill-9"])
def test_s3_objects_are_the_same_after_restart(config, tmp_path, crash):
    s3 = _client(config, "s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket="persistence-removed")
    s3.delete_bucket(Bucket="persistence-removed")
    s3.put_object(
        Bucket=BUCKET, Key="data/train.csv", Body=b"1,2,3\n", ContentType="text/csv", Metadata={"owner": "me"}
    )
    # Keys are names, never paths: these must not escape or collide in the state folder.
    s3.put_object(Bucket=BUCKET, Key="../../escape//twice/", Body=b"dots")
    s3.put_object(Bucket=BUCKET, Key="overwritten", Body=b"first")
    s3.put_object(Bucket=BUCKET, Key="overwritten", Body=b"second")
    s3.put_object(Bucket=BUCKET, Key="deleted-one", Body=b"x")
    s3.delete_object(Bucket=BUCKET, Key="deleted-one")
    s3.put_object(Bucket=BUCKET, Key="deleted-many/a", Body=b"a")
    s3.put_object(Bucket=BUCKET, Key="deleted-many/b", Body=b"b")
    s3.delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": "deleted-many/a"}, {"Key": "deleted-many/b"}]}
    )
    s3.copy_object(Bucket=BUCKET, Key="copied.csv", CopySource={"Bucket": BUCKET, "Key": "data/train.csv"})
    large = tmp_path / "large.bin"
    large.write_bytes(os.urandom(9 * 1024 * 1024))
    s3.upload_file(
        str(large), BUCKET, "multipart.bin", Config=TransferConfig(multipart_threshold=8 * 1024 * 1024)
    )
    before = _objects_seen(s3)
    assert s3.head_object(Bucket=BUCKET, Key="multipart.bin")["ETag"].endswith('-2"')  # really multipart

    _restart(config, crash)

    s3 = _client(config, "s3")
    after = _objects_seen(s3)
    assert after == before
    assert after["multipart.bin"][1] == large.read_bytes()
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]
    for key in ("deleted-one", "deleted-many/a"):
        with pytest.raises(ClientError, match="NoSuchKey|404"):
            s3.head_object(Bucket=BUCKET, Key=key)
    stored = [p for p in (config.state_dir / "s3").rglob("*") if p.is_file() and "objects" in p.parts]
    assert len(stored) == len(before["list"])  # one body file per live object, none left from overwrites
    assert not (config.state_dir / "s3" / "escape").exists()


def test_deletes_after_restart_stay_deleted(config):
    s3 = _client(config, "s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"v")
    _restart(config, crash=False)
    s3 = _client(config, "s3")
    s3.delete_object(Bucket=BUCKET, Key="k")
    s3.delete_bucket(Bucket=BUCKET)
    _restart(config, crash=True)
    s3 = _client(config, "s3")
    assert s3.list_buckets()["Buckets"] == []
    s3.create_bucket(Bucket=BUCKET)  # the name is free again
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0


def _stored_rows_and_files(config: ServiceConfig) -> tuple[dict[str, str], set[str]]:
    """The object rows (key -> body file name) and the body files the state folder holds."""
    root = config.state_dir / "s3"
    db = sqlite3.connect(f"file:{root / 's3.sqlite'}?mode=ro", uri=True)
    try:
        rows = dict(db.execute("SELECT key, body FROM objects WHERE bucket = ?", (BUCKET,)).fetchall())
    finally:
        db.close()
    return rows, {p.name for p in (root / "objects").iterdir()}


@pytest.mark.parametrize("last", ["put", "delete"])
def test_concurrent_writes_to_one_key_persist_the_last_acknowledged(config, last):
    # No retries: a 5xx must reach the test instead of being hidden by the SDK.
    s3 = session_for(config).client(
        "s3",
        endpoint_url=config.url,
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=8),
    )
    s3.create_bucket(Bucket=BUCKET)
    size = 4 * 1024 * 1024
    bodies = [bytes([n]) * size for n in range(24)]

    def work(n: int) -> str | None:
        """One put, delete or get of the shared key; what went wrong, if anything."""
        try:
            if n % 3 == 0:
                s3.delete_object(Bucket=BUCKET, Key="shared")
            elif n % 3 == 1:
                s3.put_object(Bucket=BUCKET, Key="shared", Body=bodies[n % len(bodies)])
            else:
                body = s3.get_object(Bucket=BUCKET, Key="shared")["Body"].read()
                if body not in bodies:  # a read sees one whole write, never a torn or empty body
                    return f"get returned {len(body)} bytes that no put wrote"
        except FlexibleChecksumError as error:
            return f"get returned a body other than the one stored: {error}"
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchKey":
                return f"{error.response['ResponseMetadata']['HTTPStatusCode']} {error}"
        return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        failures = [failure for failure in pool.map(work, range(60)) if failure]
    assert failures == []

    # The threads are done: one last acknowledged write decides what the object is.
    if last == "put":
        s3.put_object(Bucket=BUCKET, Key="shared", Body=b"the last write")
    else:
        s3.delete_object(Bucket=BUCKET, Key="shared")
    rows, files = _stored_rows_and_files(config)
    assert set(rows) == ({"shared"} if last == "put" else set())
    assert files == set(rows.values())  # no body without a row, no row without its body

    _restart(config, crash=True)

    s3 = _client(config, "s3")
    if last == "put":
        assert s3.get_object(Bucket=BUCKET, Key="shared")["Body"].read() == b"the last write"
    else:
        with pytest.raises(ClientError, match="NoSuchKey"):
            s3.get_object(Bucket=BUCKET, Key="shared")
        assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0


def test_object_versions_are_listed_before_and_after_restart(config):
    s3 = _client(config, "s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="data/a.csv", Body=b"1,2\n")
    s3.put_object(Bucket=BUCKET, Key="data/b.csv", Body=b"3,4,5\n")
    s3.put_object(Bucket=BUCKET, Key="data/b.csv", Body=b"6\n")

    def versions() -> list[tuple[str, str, int, bool]]:
        listing = s3.list_object_versions(Bucket=BUCKET, Prefix="data/")
        return [(v["Key"], v["VersionId"], v["Size"], v["IsLatest"]) for v in listing["Versions"]]

    expected = [("data/a.csv", "null", 4, True), ("data/b.csv", "null", 2, True)]
    assert versions() == expected
    _restart(config, crash=False)
    s3 = _client(config, "s3")
    assert versions() == expected
    assert s3.get_object(Bucket=BUCKET, Key="data/b.csv")["Body"].read() == b"6\n"  # listing left it whole


def test_training_artifact_and_logs_survive_a_crash(config):
    s3, sm, logs = _client(config, "s3"), _client(config, "sagemaker"), _client(config, "logs")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="data/train/t.csv", Body=regression_csv().encode())
    s3.put_object(Bucket=BUCKET, Key="data/validation/v.csv", Body=regression_csv(seed=3).encode())
    sm.create_training_job(**training_request("persisted-job", BUCKET))
    desc = wait_training(sm, "persisted-job")
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    artifact = desc["ModelArtifacts"]["S3ModelArtifacts"].removeprefix(f"s3://{BUCKET}/")
    body = s3.get_object(Bucket=BUCKET, Key=artifact)["Body"].read()
    group = "/aws/sagemaker/TrainingJobs"
    stream = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="persisted-job/")[
        "logStreams"
    ][0]
    lines = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True)
    assert any("validation-rmse" in event["message"] for event in lines["events"])

    _restart(config, crash=True)

    s3, logs = _client(config, "s3"), _client(config, "logs")
    assert s3.get_object(Bucket=BUCKET, Key=artifact)["Body"].read() == body
    again = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True)
    assert again["events"] == lines["events"]
    assert logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="persisted-job/")[
        "logStreams"
    ] == [stream]


def test_log_events_page_with_forward_and_backward_tokens(config):
    logs = _client(config, "logs")
    logs.create_log_group(logGroupName="/course/paging")
    logs.create_log_stream(logGroupName="/course/paging", logStreamName="s")
    start = int(time.time() * 1000) - 60_000
    for batch in range(3):  # 25,000 events in three PutLogEvents batches
        count = 10_000 if batch < 2 else 5_000
        events = [
            {"timestamp": start + batch * 10_000 + i, "message": f"line {batch * 10_000 + i}"}
            for i in range(count)
        ]
        logs.put_log_events(logGroupName="/course/paging", logStreamName="s", logEvents=events)

    # The SDK's follower: from the head, nextForwardToken until a page comes back empty.
    read, token, pages = [], None, 0
    while True:
        extra = {"nextToken": token} if token else {}
        page = logs.get_log_events(
            logGroupName="/course/paging", logStreamName="s", startFromHead=True, **extra
        )
        pages += 1
        if not page["events"]:
            assert page["nextForwardToken"] == token  # polling again waits for new events
            break
        read += [event["message"] for event in page["events"]]
        token = page["nextForwardToken"]
    assert read == [f"line {i}" for i in range(25_000)]
    assert pages == 4

    # A new event appears on the next poll with the same token.
    logs.put_log_events(
        logGroupName="/course/paging",
        logStreamName="s",
        logEvents=[{"timestamp": start + 30_000, "message": "late"}],
    )
    page = logs.get_log_events(
        logGroupName="/course/paging", logStreamName="s", startFromHead=True, nextToken=token
    )
    assert [event["message"] for event in page["events"]] == ["late"]

    # Without startFromHead: the newest events, then older ones through nextBackwardToken.
    tail = logs.get_log_events(logGroupName="/course/paging", logStreamName="s", limit=3)
    assert [event["message"] for event in tail["events"]] == ["line 24998", "line 24999", "late"]
    older = logs.get_log_events(
        logGroupName="/course/paging", logStreamName="s", limit=2, nextToken=tail["nextBackwardToken"]
    )
    assert [event["message"] for event in older["events"]] == ["line 24996", "line 24997"]
    window = logs.get_log_events(
        logGroupName="/course/paging",
        logStreamName="s",
        startTime=start + 10,
        endTime=start + 13,
        startFromHead=True,
    )
    assert [event["message"] for event in window["events"]] == ["line 10", "line 11", "line 12"]


def test_log_groups_and_streams_answer_like_cloudwatch(config):
    logs = _client(config, "logs")
    logs.create_log_group(logGroupName="/course/a")
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName="/course/a")
    with pytest.raises(logs.exceptions.InvalidParameterException, match="regular expression"):
        logs.create_log_group(logGroupName="no spaces allowed")
    with pytest.raises(logs.exceptions.ResourceNotFoundException, match="log group does not exist"):
        logs.create_log_stream(logGroupName="/course/missing", logStreamName="s")
    now = int(time.time() * 1000)
    for name, stamp in (("job-b/algo-1", now - 10), ("job-a/algo-1", now), ("other/algo-1", now - 5)):
        logs.create_log_stream(logGroupName="/course/a", logStreamName=name)
        logs.put_log_events(
            logGroupName="/course/a", logStreamName=name, logEvents=[{"timestamp": stamp, "message": name}]
        )
    with pytest.raises(logs.exceptions.InvalidParameterException, match="chronological"):
        logs.put_log_events(
            logGroupName="/course/a",
            logStreamName="job-a/algo-1",
            logEvents=[{"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}],
        )

    def names(**kw):
        return [
            s["logStreamName"]
            for s in logs.describe_log_streams(logGroupName="/course/a", **kw)["logStreams"]
        ]  # noqa: E731

    assert names() == ["job-a/algo-1", "job-b/algo-1", "other/algo-1"]
    assert names(logStreamNamePrefix="job-") == ["job-a/algo-1", "job-b/algo-1"]
    assert names(orderBy="LastEventTime", descending=True) == ["job-a/algo-1", "other/algo-1", "job-b/algo-1"]
    first = logs.describe_log_streams(logGroupName="/course/a", limit=2)
    rest = logs.describe_log_streams(logGroupName="/course/a", limit=2, nextToken=first["nextToken"])
    assert [s["logStreamName"] for s in rest["logStreams"]] == ["other/algo-1"] and "nextToken" not in rest
    assert "nextToken" not in logs.describe_log_streams(
        logGroupName="/course/a", logStreamNamePrefix="job-a/", limit=1
    )

    found = logs.filter_log_events(logGroupName="/course/a", filterPattern="algo ?job-a ?other")["events"]
    assert [e["message"] for e in found] == ["other/algo-1", "job-a/algo-1"]  # interleaved by time
    assert [
        g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/course/")["logGroups"]
    ] == ["/course/a"]

    logs.delete_log_stream(logGroupName="/course/a", logStreamName="other/algo-1")
    assert names() == ["job-a/algo-1", "job-b/algo-1"]
    logs.delete_log_group(logGroupName="/course/a")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.describe_log_streams(logGroupName="/course/a")
    with pytest.raises(ClientError, match="does not implement CloudWatch Logs PutRetentionPolicy"):
        logs.put_retention_policy(logGroupName="/course/a", retentionInDays=1)
