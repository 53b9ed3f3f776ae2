"""Request bodies become feature matrices, and bad ones a 400 that says what is wrong."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers.local.images.toolkit.payloads import (
    LARGE_CSV_BYTES,
    parse_csv,
    parse_json_instances,
    parse_jsonlines,
)
from helpers.local.images.toolkit.serving import InvocationError


def bad_request(parse, body: bytes) -> str:
    with pytest.raises(InvocationError) as caught:
        parse(body)
    assert caught.value.status == 400
    return caught.value.message


def sparse(keys, values, shape=None) -> bytes:
    features = {"keys": keys, "values": values} | ({"shape": shape} if shape is not None else {})
    return json.dumps({"instances": [{"data": {"features": features}}]}).encode()


def test_csv_rows_parse_with_empty_fields_as_missing():
    matrix = parse_csv(b"1,2,3\n4,,6\n")
    assert matrix.dtype == np.float32 and matrix.shape == (2, 3)
    assert np.isnan(matrix[1, 1]) and matrix[1, 2] == 6


def test_csv_errors_name_the_row_and_column():
    assert "row 2 has 2 values but row 1 has 3" in bad_request(parse_csv, b"1,2,3\n4,5\n")
    assert "'x' (row 2, column 3)" in bad_request(parse_csv, b"1,2,3\n4,5,x\n")


def test_large_csv_matches_the_small_path_and_refuses_bad_bytes():
    rows = np.random.default_rng(0).normal(size=(LARGE_CSV_BYTES // 40, 3)).astype(np.float32)
    body = "\n".join(",".join(repr(float(v)) for v in row) for row in rows).encode()
    assert len(body) > LARGE_CSV_BYTES
    assert np.array_equal(parse_csv(body), rows)
    short = body + b"\n1,2"
    assert "has 2 values but row 1 has 3" in bad_request(parse_csv, short)
    assert "not UTF-8" in bad_request(parse_csv, body + b"\n1,2,\xff")


def test_jsonlines_with_invalid_utf8_is_a_bad_request():
    message = bad_request(parse_jsonlines, b'{"features": [1, 2]}\n{"features": [1, "\xff"]}\n')
    assert "line 2" in message


def test_sparse_json_instances_become_dense_rows():
    assert parse_json_instances(sparse([0, 2], [1.5, 3], shape=[4])).tolist() == [[1.5, 0, 3, 0]]
    assert parse_json_instances(sparse([1], [7])).tolist() == [[0, 7]]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (sparse([0, 5], [1, 2], shape=[3]), "sparse key 5 is outside the shape [3]"),
        (sparse([-1], [1], shape=[3]), "sparse key -1 is outside the shape [3]"),
        (sparse([0, 1], [1], shape=[3]), "one value per key"),
        (sparse([0.5], [1], shape=[3]), "whole numbers"),
        (sparse(["a"], [1], shape=[3]), "whole numbers"),
    ],
)
def test_bad_sparse_json_is_a_bad_request(body, reason):
    assert reason in bad_request(parse_json_instances, body)
