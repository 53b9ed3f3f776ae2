"""The cost ledger's intervals: opened and closed once, owned by a lesson, kept on disk."""

from __future__ import annotations

import pytest

from helpers.local.core.pricing import PriceNotFound, price_table, read_table
from helpers.local.store.usage import UsageLedger

TRAINING_ARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/job"
TUNING_ARN = "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/tuning"


def test_an_interval_runs_until_closed_and_closing_again_changes_nothing(tmp_path):
    ledger = UsageLedger(tmp_path / "usage.sqlite")
    ledger.open_interval(TRAINING_ARN, "job", "TrainingJob", "training", "ml.m5.large", 2, started=100.0)
    (running,) = ledger.intervals(running=True)
    assert running.instance_seconds(now=130.0) == 60.0

    assert ledger.close_intervals(TRAINING_ARN, 150.0, started=110.0, billable_seconds=38) == 1
    assert ledger.close_intervals(TRAINING_ARN, 999.0) == 0
    (closed,) = ledger.intervals()
    assert (closed.started, closed.ended, closed.instance_seconds()) == (110.0, 150.0, 76.0)


def test_a_tuning_jobs_training_jobs_belong_to_its_lesson_whenever_it_is_recorded(tmp_path):
    ledger = UsageLedger(tmp_path / "usage.sqlite")
    # The first training job may start before the Create call that made the tuning job returns.
    ledger.open_interval(
        TRAINING_ARN, "job", "TrainingJob", "training", "ml.m5.large", 1, parent_arn=TUNING_ARN
    )
    ledger.attribute(TUNING_ARN, "lesson-1")
    second = TRAINING_ARN + "-2"
    ledger.open_interval(second, "job-2", "TrainingJob", "training", "ml.m5.large", 1, parent_arn=TUNING_ARN)
    assert [i.name for i in ledger.intervals(lesson="lesson-1")] == ["job", "job-2"]
    assert ledger.intervals(lesson="lesson-2") == []


def test_the_ledger_is_kept_on_disk(tmp_path):
    ledger = UsageLedger(tmp_path / "usage.sqlite")
    ledger.open_interval(TRAINING_ARN, "job", "TrainingJob", "training", "ml.m5.large", 1, started=1.0)
    ledger.attribute(TRAINING_ARN, "lesson-1")
    ledger.close()
    (again,) = UsageLedger(tmp_path / "usage.sqlite").intervals(lesson="lesson-1")
    assert again.running and again.name == "job"


def test_the_shipped_price_table_names_its_source_and_date_and_refuses_to_guess():
    table = price_table()
    assert table.source == "https://aws.amazon.com/sagemaker/pricing/"
    assert len(table.copied) == 10 and table.copied.startswith("20")
    assert table.hourly("ml.m5.large", "us-east-1", "training") > 0
    with pytest.raises(PriceNotFound, match=r"^no price for ml\.m5\.large in ap-south-2$"):
        table.hourly("ml.m5.large", "ap-south-2", "training")


def test_a_price_file_with_an_unknown_component_is_refused(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("# source: x\n# copied: 2026-01-01\nregion,component,instance_type,usd_per_hour\n"
                    "us-east-1,hosting,ml.m5.large,0.1\n")  # fmt: skip
    with pytest.raises(ValueError, match="unknown component 'hosting'"):
        read_table(path)
