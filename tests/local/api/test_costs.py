"""The cost ledger as a learner meets it: each lesson's would-be AWS bill, ``status``, idle endpoints.

One service of its own (a fresh state folder, so totals are this module's alone) with a short idle
threshold; clients of two lessons tell themselves apart by their User-Agent app id, as
``helpers.connect()`` sets it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from botocore.config import Config

from helpers.course import report_left_running
from helpers.local import control
from helpers.local.core.config import ServiceConfig, load_config
from helpers.local.core.pricing import price_table
from helpers.local.hosting.deployments import IDLE_CHECK_SECONDS
from tests.conftest import free_port
from tests.service_helpers import (
    model_from_job,
    regression_csv,
    session_for,
    small_tuning_request,
    training_request,
    unique,
    wait_for,
    wait_training,
    wait_tuning_job,
    wait_until,
)

IDLE_MINUTES = 0.05  # 3 s


@pytest.fixture(scope="module")
def ledger_service(tmp_path_factory) -> Iterator[ServiceConfig]:
    config = load_config(free_port(), tmp_path_factory.mktemp("cost-state"))
    saved = os.environ.get("SAGEMAKER_LOCAL_IDLE_ENDPOINT_MINUTES")
    os.environ["SAGEMAKER_LOCAL_IDLE_ENDPOINT_MINUTES"] = str(IDLE_MINUTES)
    try:
        control.start(config)
    finally:
        if saved is None:
            os.environ.pop("SAGEMAKER_LOCAL_IDLE_ENDPOINT_MINUTES")
        else:
            os.environ["SAGEMAKER_LOCAL_IDLE_ENDPOINT_MINUTES"] = saved
    yield config
    control.stop(config)


def _client(config: ServiceConfig, service: str, lesson: str | None = None):
    return session_for(config).client(
        service, endpoint_url=config.url, config=Config(user_agent_appid=lesson) if lesson else None
    )


@pytest.fixture(scope="module")
def data(ledger_service) -> str:
    s3 = _client(ledger_service, "s3")
    bucket = "cost-ledger-tests"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="data/train/train.csv", Body=regression_csv().encode())
    s3.put_object(
        Bucket=bucket, Key="data/validation/validation.csv", Body=regression_csv(40, seed=1).encode()
    )
    return bucket


def _rows(config: ServiceConfig, lesson: str, name: str) -> list[dict]:
    return [row for row in control.usage(config, lesson=lesson)["usage"] if row["name"] == name]


def _status(config: ServiceConfig) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "helpers.local", "status",
         "--port", str(config.port), "--state-dir", str(config.state_dir)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_training_job_costs_its_billable_seconds_times_instances_times_the_price(ledger_service, data):
    sm = _client(ledger_service, "sagemaker", "lesson-train")
    job = unique("train")
    sm.create_training_job(**training_request(job, data))
    desc = wait_training(sm, job)
    assert desc["TrainingJobStatus"] == "Completed"

    (row,) = _rows(ledger_service, "lesson-train", job)
    price = price_table().hourly("ml.m5.large", ledger_service.region, "training")
    expected = desc["BillableTimeInSeconds"] * desc["ResourceConfig"]["InstanceCount"] * price / 3600
    assert row["cost"] == pytest.approx(expected)
    assert not row["running"] and row["instanceType"] == "ml.m5.large"


def test_an_instance_type_without_a_price_is_named_not_guessed(ledger_service, data):
    sm = _client(ledger_service, "sagemaker", "lesson-unpriced")
    job = unique("train")
    request = training_request(job, data)
    request["ResourceConfig"]["InstanceType"] = "ml.m4.xlarge"  # not in the table
    sm.create_training_job(**request)
    assert wait_training(sm, job)["TrainingJobStatus"] == "Completed"

    report = control.usage(ledger_service, lesson="lesson-unpriced")
    (row,) = report["usage"]
    assert row["cost"] is None and row["noPrice"] == "no price for ml.m4.xlarge in us-east-1"
    assert report["total"] == 0
    assert "no price for ml.m4.xlarge in us-east-1" in _status(ledger_service)


def test_a_tuning_job_costs_the_sum_of_its_training_jobs(ledger_service, data):
    sm = _client(ledger_service, "sagemaker", "lesson-tune")
    name = unique("tune")[:32]
    sm.create_hyper_parameter_tuning_job(**small_tuning_request(name, data, "data", jobs=2))
    tuning = wait_tuning_job(sm, name)
    assert tuning["HyperParameterTuningJobStatus"] == "Completed", tuning.get("FailureReason")

    report = control.usage(ledger_service, lesson="lesson-tune")
    price = price_table().hourly("ml.m5.large", ledger_service.region, "training")
    trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    billed = {
        t["TrainingJobName"]: sm.describe_training_job(TrainingJobName=t["TrainingJobName"])[
            "BillableTimeInSeconds"
        ]
        for t in trials["TrainingJobSummaries"]
    }
    assert len(billed) == 2
    assert {row["name"] for row in report["usage"]} == set(billed)
    assert {row["parentArn"] for row in report["usage"]} == {tuning["HyperParameterTuningJobArn"]}
    assert report["total"] == pytest.approx(sum(billed.values()) * price / 3600)


@pytest.fixture(scope="module")
def endpoint(ledger_service, data) -> Iterator[tuple[str, str]]:
    """An InService endpoint on one ml.m5.large, created by lesson ``lesson-host``."""
    sm = _client(ledger_service, "sagemaker", "lesson-host")
    job = unique("train")
    sm.create_training_job(**training_request(job, data))
    model = model_from_job(sm, job, unique("model"))
    name = unique("endpoint")
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "A", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    desc = wait_for(lambda: sm.describe_endpoint(EndpointName=name), "EndpointStatus", timeout=120)
    assert desc["EndpointStatus"] == "InService", desc.get("FailureReason")
    yield name, job


def test_status_lists_a_running_endpoint_with_its_hourly_cost_and_warns_when_idle(ledger_service, endpoint):
    name, _ = endpoint
    runtime = _client(ledger_service, "sagemaker-runtime", "lesson-host")
    runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"1,2,3,4")
    hourly = price_table().hourly("ml.m5.large", ledger_service.region, "inference")

    shown = _status(ledger_service)
    assert re.search(rf"endpoint {name} \(A\): ml\.m5\.large x 1, \${hourly:.3f}/h, running \d+ min", shown)
    assert "Everything in this state folder so far would have cost about $" in shown

    # No InvokeEndpoint for longer than the (shortened) threshold: idle.
    wait_until(lambda: f"endpoint {name} is InService but idle" in _status(ledger_service), "idle warning")
    warning = next(line for line in _status(ledger_service).splitlines() if name in line and "idle" in line)
    assert f"costing ${hourly:.3f}/h on AWS: delete it with" in warning


def test_the_service_log_warns_once_per_idle_spell(ledger_service, endpoint):
    name, _ = endpoint
    log = control.log_file(ledger_service)
    warnings = lambda: log.read_text().count(f"endpoint {name} is InService but idle")  # noqa: E731
    wait_until(lambda: warnings() >= 1, "the idle warning in the service log", timeout=30)
    # The monitor looks every IDLE_CHECK_SECONDS; a spell that goes on is not warned about again.
    time.sleep(2.5 * IDLE_CHECK_SECONDS)
    assert warnings() == 1


def test_the_course_runner_warns_of_an_endpoint_left_running(ledger_service, endpoint, capsys):
    name, _ = endpoint
    hourly = price_table().hourly("ml.m5.large", ledger_service.region, "inference")
    assert report_left_running(ledger_service) is True
    out = capsys.readouterr().out
    assert "WARNING: still running after the course" in out
    assert f"Endpoint {name} (A): ml.m5.large x 1, ${hourly:.3f}/h" in out


def test_a_rescale_starts_a_new_interval_and_deletion_closes_it(ledger_service, endpoint, capsys):
    name, _ = endpoint
    sm = _client(ledger_service, "sagemaker", "lesson-host")
    sm.update_endpoint_weights_and_capacities(
        EndpointName=name, DesiredWeightsAndCapacities=[{"VariantName": "A", "DesiredInstanceCount": 2}]
    )
    wait_until(
        lambda: (
            [r["instanceCount"] for r in _rows(ledger_service, "lesson-host", name) if r["running"]] == [2]
        ),
        "the rescaled interval",
        timeout=120,
    )
    sm.delete_endpoint(EndpointName=name)
    wait_until(
        lambda: not any(r["running"] for r in _rows(ledger_service, "lesson-host", name)),
        "the endpoint's billing to end",
        timeout=120,
    )
    price = price_table().hourly("ml.m5.large", ledger_service.region, "inference")
    rows = _rows(ledger_service, "lesson-host", name)
    assert [r["instanceCount"] for r in rows] == [1, 2]
    for row in rows:
        assert row["cost"] == pytest.approx(
            (row["ended"] - row["started"]) * row["instanceCount"] * price / 3600
        )
    assert name not in _status(ledger_service).split("Everything in this state folder")[0]
    capsys.readouterr()
    assert report_left_running(ledger_service) is False
    assert capsys.readouterr().out == "nothing left running\n"


def test_two_lessons_bills_do_not_mix(ledger_service, endpoint):
    _, host_job = endpoint
    train = {row["name"] for row in control.usage(ledger_service, lesson="lesson-train")["usage"]}
    host = {row["name"] for row in control.usage(ledger_service, lesson="lesson-host")["usage"]}
    assert host_job in host and host_job not in train
    assert train and not train & host


def test_a_restart_keeps_the_ledger(ledger_service, endpoint):
    before = control.usage(ledger_service)
    control.stop(ledger_service)
    control.start(ledger_service)
    after = control.usage(ledger_service)
    closed = lambda report: [  # noqa: E731
        (r["name"], r["instanceCount"], r["cost"], r["lesson"]) for r in report["usage"] if not r["running"]
    ]
    assert closed(after) == closed(before) and closed(before)
    assert after["total"] >= before["total"]


def test_the_usage_report_is_refused_unsigned(ledger_service):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{ledger_service.url}/_local/usage", timeout=10)
    assert refused.value.code == 403
