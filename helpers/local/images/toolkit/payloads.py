"""Request bodies of ``/invocations`` turned into feature matrices, quickly and with clear 400s.

A one-row CSV request is the hot path of a live endpoint: it is split by hand (a few
microseconds). Large batch-transform payloads go through pandas' C parser instead.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from helpers.local.images.toolkit.serving import InvocationError

# Above this size pandas' C parser beats splitting by hand.
LARGE_CSV_BYTES = 64 * 1024


def parse_csv(body: bytes) -> np.ndarray:
    """A float32 matrix, one row per line; empty fields are missing values (NaN)."""
    if len(body) > LARGE_CSV_BYTES and b"\n" in body.strip():
        matrix = _parse_large_csv(body)
        if matrix is not None:
            return matrix
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise InvocationError(
            400, f"Loading csv data failed: the payload is not UTF-8 text ({exc})."
        ) from exc
    if not text:
        raise InvocationError(400, "Loading csv data failed: the payload has no rows.")
    if "\n" not in text:
        try:
            return np.array(text.split(","), dtype=np.float32).reshape(1, -1)
        except ValueError:
            pass  # empty fields or bad values: the careful path below explains
    return _parse_csv_rows(text)


def _parse_large_csv(body: bytes) -> np.ndarray | None:
    """The matrix from pandas' C parser, or None to let the careful path parse (and explain) it."""
    import pandas as pd

    try:
        # pandas decodes the bytes itself: no intermediate str copy of a multi-megabyte payload.
        matrix = pd.read_csv(io.BytesIO(body), header=None, dtype=np.float32).to_numpy()
    except (ValueError, pd.errors.ParserError):  # UnicodeDecodeError is a ValueError
        return None
    # pandas pads short rows with NaN; the field count tells whether every row was complete.
    rows, columns = matrix.shape
    if body.count(b",") != rows * (columns - 1):
        return None
    return matrix


def _parse_csv_rows(text: str) -> np.ndarray:
    rows = [line.split(",") for line in text.splitlines() if line.strip()]
    try:
        # numpy converts strings with float()'s rules: the per-cell loop below only runs to explain
        # a failure (or to read empty fields as NaN).
        return np.array(rows, dtype=np.float32)
    except ValueError:
        pass
    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise InvocationError(
                400,
                f"Loading csv data failed: row {number} has {len(row)} values but row 1 has {width}; "
                "every row must have the same number of features.",
            )
        for column, value in enumerate(row, start=1):
            if value.strip() == "":
                row[column - 1] = "nan"
                continue
            try:
                float(value)
            except ValueError:
                raise InvocationError(
                    400,
                    f"Loading csv data failed: could not convert {value.strip()!r} (row {number}, "
                    f"column {column}) to a number; please ensure data is in csv format without a header.",
                ) from None
    return np.array(rows, dtype=np.float32)


def parse_libsvm(body: bytes) -> Any:
    """A scipy CSR matrix; tokens without ``index:value`` (such as a leading label) are ignored."""
    from scipy.sparse import csr_matrix

    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise InvocationError(400, f"Loading libsvm data failed: the payload is not UTF-8 ({exc}).") from exc
    rows, columns, values = [], [], []
    lines = [line for line in text.splitlines() if line.strip()]
    for number, line in enumerate(lines):
        for token in line.split():
            if ":" not in token:
                continue
            index, _, value = token.partition(":")
            try:
                columns.append(int(index))
                values.append(float(value))
            except ValueError:
                raise InvocationError(
                    400,
                    f"Loading libsvm data failed: {token!r} on line {number + 1} is not <index>:<value>; "
                    "please ensure data is in libsvm format.",
                ) from None
            rows.append(number)
    if any(c < 0 for c in columns):
        raise InvocationError(400, "Loading libsvm data failed: feature indices must not be negative.")
    width = max(columns) + 1 if columns else 0
    return csr_matrix((np.asarray(values, dtype=np.float32), (rows, columns)), shape=(len(lines), width))


def parse_json_instances(body: bytes) -> np.ndarray:
    """Dense rows from SageMaker's JSON request formats.

    Accepted: ``{"instances": [{"features": [...]}, ...]}``,
    ``{"instances": [{"data": {"features": {"values": [...]}}}]}``, ``{"instances": [[...], ...]}``
    and a single ``{"features": [...]}``.
    """
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvocationError(400, f"Loading json data failed: {exc}") from exc
    return _rows_matrix([_dense_row(item) for item in _instances(document)])


def parse_jsonlines(body: bytes) -> np.ndarray:
    """Dense rows from JSON Lines: one ``{"features": [...]}`` (or ``{"data": ...}``) per line."""
    rows = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(_dense_row(json.loads(line)))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvocationError(400, f"Loading jsonlines data failed on line {number}: {exc}") from exc
    return _rows_matrix(rows)


def _instances(document: Any) -> list[Any]:
    if isinstance(document, dict) and isinstance(document.get("instances"), list):
        return document["instances"]
    if isinstance(document, dict) and ("features" in document or "data" in document):
        return [document]
    raise InvocationError(
        400,
        'Loading json data failed: expected {"instances": [{"features": [...]}, ...]} '
        'or {"features": [...]}.',
    )


def _dense_row(instance: Any) -> list[Any]:
    if isinstance(instance, list):
        return instance
    if isinstance(instance, dict):
        if isinstance(instance.get("features"), list):
            return instance["features"]
        data = instance.get("data")
        features = data.get("features") if isinstance(data, dict) else None
        if isinstance(features, dict) and "values" in features:
            if "keys" in features and features["keys"]:
                return _sparse_to_dense(features)
            return features["values"]
    raise InvocationError(
        400, f"Loading json data failed: an instance has no features: {str(instance)[:200]}"
    )


def _sparse_to_dense(features: dict[str, Any]) -> list[float]:
    keys, values, shape = features["keys"], features["values"], features.get("shape")
    try:
        indices = [_index(key) for key in keys]
        width = _index(shape[0]) if shape else max(indices) + 1
    except (TypeError, ValueError, IndexError) as exc:
        raise InvocationError(
            400, f"Loading json data failed: sparse keys and shape must be whole numbers ({exc})."
        ) from None
    if not isinstance(values, list) or len(values) != len(indices):
        raise InvocationError(400, "Loading json data failed: sparse features need one value per key.")
    # Checked explicitly: a key past the shape would be an IndexError and a negative one would
    # silently index from the end of the row.
    outside = [key for key in indices if not 0 <= key < width]
    if outside:
        raise InvocationError(
            400, f"Loading json data failed: sparse key {outside[0]} is outside the shape [{width}]."
        )
    row = [0.0] * width
    for key, value in zip(indices, values, strict=True):
        row[key] = value
    return row


def _index(key: Any) -> int:
    """A sparse key or size as an int; 2.5 is refused rather than truncated."""
    index = int(key)
    if isinstance(key, float) and index != key:
        raise ValueError(f"{key!r} is not a whole number")
    return index


def _rows_matrix(rows: list[list[Any]]) -> np.ndarray:
    if not rows:
        raise InvocationError(400, "Loading json data failed: the request has no instances.")
    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise InvocationError(
                400,
                f"Loading json data failed: instance {number} has {len(row)} features "
                f"but the first has {width}.",
            )
    try:
        return np.array(rows, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvocationError(400, f"Loading json data failed: features must be numbers ({exc}).") from exc
