"""The List* operations: filters, sort orders and NextToken pages, on their own and through the
control plane in-process (no service process, no containers)."""

from __future__ import annotations

import pytest

from helpers.local.api.listing import list_page, paginate
from helpers.local.api.service import Service
from helpers.local.core.config import ROLE_ARN, load_config
from helpers.local.core.errors import ValidationException
from tests.conftest import free_port
from tests.service_helpers import XGBOOST_IMAGE

JOBS = [
    {"TrainingJobName": "beta-2", "TrainingJobStatus": "Completed",
     "CreationTime": 20.0, "LastModifiedTime": 50.0},
    {"TrainingJobName": "Alpha-1", "TrainingJobStatus": "Failed",
     "CreationTime": 10.0, "LastModifiedTime": 30.0},
    {"TrainingJobName": "gamma-3", "TrainingJobStatus": "InProgress",
     "CreationTime": 30.0, "LastModifiedTime": 40.0},
]  # fmt: skip


def names(params: dict, docs: list[dict] = JOBS) -> list[str]:
    page = list_page(
        "ListTrainingJobs", docs, params, name_key="TrainingJobName", status_key="TrainingJobStatus"
    )
    return [s["TrainingJobName"] for s in page["TrainingJobSummaries"]]


def test_newest_first_unless_asked_otherwise():
    assert names({}) == ["gamma-3", "beta-2", "Alpha-1"]
    assert names({"SortOrder": "Ascending"}) == ["Alpha-1", "beta-2", "gamma-3"]
    assert names({"SortBy": "Name", "SortOrder": "Ascending"}) == ["Alpha-1", "beta-2", "gamma-3"]
    assert names({"SortBy": "Status", "SortOrder": "Ascending"}) == ["beta-2", "Alpha-1", "gamma-3"]


def test_name_contains_ignores_case_and_status_equals_is_exact():
    assert names({"NameContains": "ALPHA"}) == ["Alpha-1"]
    assert names({"NameContains": "-"}) == ["gamma-3", "beta-2", "Alpha-1"]
    assert names({"StatusEquals": "Completed"}) == ["beta-2"]
    assert names({"StatusEquals": "Stopped"}) == []


def test_time_filters_are_strict_bounds():
    assert names({"CreationTimeAfter": 10.0}) == ["gamma-3", "beta-2"]
    assert names({"CreationTimeBefore": 30.0, "CreationTimeAfter": 10.0}) == ["beta-2"]
    assert names({"LastModifiedTimeAfter": 35.0, "LastModifiedTimeBefore": 50.0}) == ["gamma-3"]


MODELS = [
    {"ModelName": f"model-{n}", "ModelArn": f"arn:model-{n}", "CreationTime": float(n)} for n in range(7)
]


def model_names(page: dict) -> list[str]:
    return [model["ModelName"] for model in page["Models"]]


def test_pages_cover_every_item_once_and_the_last_page_has_no_token():
    seen, token, pages = [], None, 0
    while True:
        params = {"MaxResults": 3, **({"NextToken": token} if token else {})}
        page = paginate("ListModels", MODELS, params)
        seen += model_names(page)
        pages += 1
        token = page.get("NextToken")
        if token is None:
            break
    assert seen == [m["ModelName"] for m in MODELS] and pages == 3
    assert "NextToken" not in paginate("ListModels", MODELS, {"MaxResults": 7})


def test_the_summary_runs_for_the_page_only():
    described = []

    def describe(doc: dict) -> dict:
        described.append(doc["ModelName"])
        return doc

    paginate("ListModels", MODELS, {"MaxResults": 2}, describe=describe)
    assert described == ["model-0", "model-1"]


@pytest.mark.parametrize("token", ["not-a-token", "-1", "1e3", "9" * 19, "٣"])
def test_a_token_no_call_returned_is_a_validation_error(token):
    with pytest.raises(ValidationException) as error:
        paginate("ListModels", MODELS, {"NextToken": token})
    assert error.value.message.startswith("Invalid pagination token")


def test_a_token_from_another_list_is_refused():
    token = paginate("ListModels", MODELS, {"MaxResults": 2})["NextToken"]
    with pytest.raises(ValidationException):
        paginate("ListEndpoints", [], {"NextToken": token})


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory):
    """The SageMaker control plane in this process, on a throw-away state folder."""
    plane = Service(load_config(free_port(), tmp_path_factory.mktemp("listing-state")))
    for number in range(5):
        plane.handle(
            "CreateModel",
            {
                "ModelName": f"listed-{number}",
                "ExecutionRoleArn": ROLE_ARN,
                "PrimaryContainer": {"Image": XGBOOST_IMAGE},
            },
        )
    yield plane
    plane.shutdown()


def test_list_models_pages_round_trip(control_plane):
    listed, token = [], None
    while True:
        params = {"MaxResults": 2, "SortBy": "Name", "SortOrder": "Ascending"}
        page = control_plane.handle("ListModels", {**params, **({"NextToken": token} if token else {})})
        listed += [model["ModelName"] for model in page["Models"]]
        token = page.get("NextToken")
        if token is None:
            break
    assert listed == [f"listed-{n}" for n in range(5)]


def test_list_tags_pages_round_trip(control_plane):
    # ListTags pages hold 50 tags or more; one call adds at most 50.
    arn = control_plane.arn("model", "listed-4")
    for start in (0, 50):
        tags = [{"Key": f"key-{tag:02d}", "Value": str(tag)} for tag in range(start, start + 50)]
        control_plane.handle("AddTags", {"ResourceArn": arn, "Tags": tags[:30] if start else tags})
    first = control_plane.handle("ListTags", {"ResourceArn": arn, "MaxResults": 50})
    rest = control_plane.handle("ListTags", {"ResourceArn": arn, "NextToken": first["NextToken"]})
    keys = [tag["Key"] for tag in first["Tags"] + rest["Tags"]]
    assert len(first["Tags"]) == 50 and "NextToken" not in rest
    assert keys == [f"key-{tag:02d}" for tag in range(80)]


@pytest.mark.parametrize("operation", ["ListModels", "ListTags"])
def test_a_bad_next_token_is_a_validation_exception_not_a_failure(control_plane, operation):
    params = {"ResourceArn": control_plane.arn("model", "listed-4")} if operation == "ListTags" else {}
    with pytest.raises(ValidationException) as error:
        control_plane.handle(operation, {**params, "NextToken": "forged"})
    assert error.value.status == 400 and "Invalid pagination token 'forged'" in error.value.message


def test_list_models_filters_by_name_and_creation_time(control_plane):
    models = control_plane.handle("ListModels", {"SortOrder": "Ascending"})["Models"]
    middle = models[2]["CreationTime"]
    after = control_plane.handle("ListModels", {"CreationTimeAfter": middle, "SortOrder": "Ascending"})
    assert [m["ModelName"] for m in after["Models"]] == ["listed-3", "listed-4"]
    assert [
        m["ModelName"] for m in control_plane.handle("ListModels", {"NameContains": "ED-1"})["Models"]
    ] == ["listed-1"]
