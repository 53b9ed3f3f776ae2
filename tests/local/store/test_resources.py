"""The resource store: SageMaker resources as rows of a SQLite file, safe across threads and restarts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers.local.store.resources import Store

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model/m1"


@pytest.fixture
def store(tmp_path):
    opened = Store(tmp_path / "sagemaker.sqlite")
    yield opened
    opened.close()


def test_insert_get_update_delete(store):
    assert store.insert("Model", "m1", ARN, {"ModelName": "m1", "Steps": []})
    assert store.get("Model", "m1") == {"ModelName": "m1", "Steps": []}
    assert store.get("Model", "m2") is None
    assert store.get("TrainingJob", "m1") is None  # names are per kind

    updated = store.update("Model", "m1", lambda doc: doc["Steps"].append("one"))
    assert updated == {"ModelName": "m1", "Steps": ["one"]}
    assert store.get("Model", "m1") == updated
    assert store.update("Model", "never-created", lambda doc: doc.clear()) is None

    assert store.delete("Model", "m1")
    assert store.get("Model", "m1") is None
    assert not store.delete("Model", "m1")
    assert not store.exists_arn(ARN)


def test_a_name_taken_twice_keeps_the_first_resource(store):
    assert store.insert("Model", "m1", ARN, {"Version": 1})
    assert not store.insert("Model", "m1", ARN, {"Version": 2})
    assert store.get("Model", "m1") == {"Version": 1}
    assert store.insert("EndpointConfig", "m1", ARN + "-config", {"Version": 3})


def test_list_gives_one_kind_oldest_first(store):
    for name in ("c", "a", "b"):
        store.insert("Model", name, f"{ARN}-{name}", {"ModelName": name})
    store.insert("Endpoint", "e", "arn:endpoint", {"EndpointName": "e"})
    assert [doc["ModelName"] for doc in store.list("Model")] == ["c", "a", "b"]
    assert store.list("TrainingJob") == []


def test_a_failed_update_changes_nothing(store):
    store.insert("Model", "m1", ARN, {"Steps": []})

    def half_done(doc):
        doc["Steps"].append("half")
        raise RuntimeError("the change failed half-way")

    with pytest.raises(RuntimeError):
        store.update("Model", "m1", half_done)
    assert store.get("Model", "m1") == {"Steps": []}


def test_tags_are_kept_per_arn_replaced_by_key_and_go_with_the_resource(store):
    store.insert("Model", "m1", ARN, {})
    store.add_tags(ARN, [{"Key": "team", "Value": "a"}, {"Key": "lesson", "Value": "1"}])
    store.add_tags(ARN, [{"Key": "team", "Value": "b"}, {"Key": "empty"}])
    assert store.tags(ARN) == [
        {"Key": "empty", "Value": ""},
        {"Key": "lesson", "Value": "1"},
        {"Key": "team", "Value": "b"},
    ]
    store.delete_tags(ARN, ["lesson", "not-a-tag"])
    assert [tag["Key"] for tag in store.tags(ARN)] == ["empty", "team"]
    assert store.tags("arn:other") == []

    store.delete("Model", "m1")
    assert store.tags(ARN) == []  # a new resource of the same name starts untagged


def test_concurrent_updates_from_threads_keep_every_change(store):
    store.insert("TrainingJob", "job", "arn:job", {"SecondaryStatusTransitions": []})

    def add(number: int) -> None:
        store.update("TrainingJob", "job", lambda doc: doc["SecondaryStatusTransitions"].append(number))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(add, range(200)))
    assert sorted(store.get("TrainingJob", "job")["SecondaryStatusTransitions"]) == list(range(200))


def test_reopening_the_file_keeps_what_was_committed(tmp_path):
    path = tmp_path / "sagemaker.sqlite"
    first = Store(path)
    first.insert("Model", "m1", ARN, {"ModelName": "m1"})
    first.update("Model", "m1", lambda doc: doc.update(ModelArn=ARN))
    first.add_tags(ARN, [{"Key": "team", "Value": "a"}])
    first.insert("Model", "gone", "arn:gone", {})
    first.delete("Model", "gone")
    first.close()

    again = Store(path)
    try:
        assert again.get("Model", "m1") == {"ModelName": "m1", "ModelArn": ARN}
        assert again.get("Model", "gone") is None
        assert again.tags(ARN) == [{"Key": "team", "Value": "a"}]
        assert again.exists_arn(ARN)
    finally:
        again.close()
