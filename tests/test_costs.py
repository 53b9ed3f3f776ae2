"""``helpers.print_lesson_cost``: a lesson's would-be AWS bill, as a notebook prints it."""

from __future__ import annotations

import re

import boto3
import sagemaker
from botocore.config import Config

import helpers
from helpers.local.core.pricing import dollars, price_table
from tests.service_helpers import regression_csv, training_request, unique, wait_training

FINAL_LINE = re.compile(
    r"^This lesson would have cost about \$\d+\.\d{4,6} on AWS \(on-demand, us-east-1, prices of "
    r"\d{4}-\d{2}-\d{2}\)\.$"
)


def _upload(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="data/train/train.csv", Body=regression_csv().encode())
    s3.put_object(
        Bucket=bucket, Key="data/validation/validation.csv", Body=regression_csv(40, seed=1).encode()
    )


def _train(sm, bucket: str, instance_type: str = "ml.m5.large") -> dict:
    job = unique("lesson-cost")
    request = training_request(job, bucket)
    request["ResourceConfig"]["InstanceType"] = instance_type
    sm.create_training_job(**request)
    desc = wait_training(sm, job)
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    return desc


def test_print_lesson_cost_lists_this_lessons_jobs_and_ends_with_the_total(service, s3, bucket, capsys):
    session, _ = helpers.connect("local")
    _upload(s3, bucket)
    desc = _train(session.sagemaker_client, bucket)
    unpriced = _train(session.sagemaker_client, bucket, "ml.m4.xlarge")  # no row in the table
    # A plain boto3 client made after connect() belongs to the same lesson; one of another kernel not.
    plain = _train(boto3.client("sagemaker"), bucket)
    other = _train(boto3.client("sagemaker", config=Config(user_agent_appid="another-lesson")), bucket)
    capsys.readouterr()

    total = helpers.print_lesson_cost(session)

    lines = capsys.readouterr().out.splitlines()
    assert FINAL_LINE.match(lines[-1]), lines[-1]
    job_line = next(line for line in lines if desc["TrainingJobName"] in line)
    price = price_table().hourly("ml.m5.large", "us-east-1", "training")
    cost = desc["BillableTimeInSeconds"] * price / 3600
    assert "training job" in job_line and "ml.m5.large x 1" in job_line and dollars(cost) in job_line
    assert f"${price:.3f}/h" in job_line
    assert "no price for ml.m4.xlarge in us-east-1" in next(
        line for line in lines if unpriced["TrainingJobName"] in line
    )
    assert total >= cost
    assert lines[
        -1
    ] == f"This lesson would have cost about {dollars(total)} on AWS (on-demand, us-east-1, " + (
        f"prices of {price_table().copied})."
    )
    printed = "\n".join(lines)
    assert plain["TrainingJobName"] in printed and other["TrainingJobName"] not in printed


def test_on_aws_the_bill_is_read_from_describe_answers(service, s3, bucket, capsys):
    """A plain ``sagemaker.Session`` (as on AWS) gets the bill from List/Describe since connect()."""
    helpers.connect("local")
    _upload(s3, bucket)
    session = sagemaker.Session(boto_session=boto3.Session(region_name=service.region))
    desc = _train(session.sagemaker_client, bucket)
    capsys.readouterr()

    helpers.print_lesson_cost(session)

    out = capsys.readouterr().out
    price = price_table().hourly("ml.m5.large", "us-east-1", "training")
    job_line = next(line for line in out.splitlines() if desc["TrainingJobName"] in line)
    assert dollars(desc["BillableTimeInSeconds"] * price / 3600) in job_line
    assert "endpoints already deleted" in out
    assert FINAL_LINE.match(out.splitlines()[-1])
