"""``application/x-recordio-protobuf``: the built-in algorithms' ``aialgs.data.Record`` in RecordIO frames.

The format the SDK's ``sagemaker.amazon.common`` writes (``write_numpy_to_dense_tensor``,
``write_spmatrix_to_sparse_tensor``) and reads (``read_records``): each record is the magic
``0xCED7230A``, a little-endian uint32 length, the serialized ``Record`` and padding to 4 bytes.
``Record`` (``record.proto``) maps names to ``Value``s holding a ``Float32Tensor`` (2),
``Float64Tensor`` (3) or ``Int32Tensor`` (7) of ``values`` (1), sparse ``keys`` (2) and ``shape`` (3).
Decoded here from the protobuf wire format directly, so an image needs no generated code.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import numpy as np

from helpers.local.images.toolkit.errors import UserError

CONTENT_TYPE = "application/x-recordio-protobuf"
MAGIC = 0xCED7230A
_TENSOR_TYPES = {2: "<f4", 3: "<f8", 7: "varint"}


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int, bytes | int]]:
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            yield number, wire, value
        elif wire == 2:
            length, at = _varint(data, at)
            yield number, wire, data[at : at + length]
            at += length
        elif wire == 5:
            yield number, wire, data[at : at + 4]
            at += 4
        elif wire == 1:
            yield number, wire, data[at : at + 8]
            at += 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


def _packed_varints(data: bytes) -> list[int]:
    values, at = [], 0
    while at < len(data):
        value, at = _varint(data, at)
        values.append(value)
    return values


def _tensor(kind: int, data: bytes) -> tuple[np.ndarray, list[int], list[int]]:
    values, keys, shape = np.zeros(0), [], []
    for number, _, payload in _fields(data):
        if number == 1:
            if _TENSOR_TYPES[kind] == "varint":
                ints = [v - (1 << 32) if v >= 1 << 31 else v for v in _packed_varints(payload)]  # type: ignore[arg-type]
                values = np.asarray(ints, dtype=np.float64)
            else:
                values = np.frombuffer(payload, dtype=_TENSOR_TYPES[kind]).astype(np.float64)  # type: ignore[arg-type]
        elif number == 2:
            keys = _packed_varints(payload)  # type: ignore[arg-type]
        elif number == 3:
            shape = _packed_varints(payload)  # type: ignore[arg-type]
    return values, keys, shape


def _value(data: bytes) -> tuple[np.ndarray, list[int], list[int]]:
    for number, _, payload in _fields(data):
        if number in _TENSOR_TYPES:
            return _tensor(number, payload)  # type: ignore[arg-type]
    raise ValueError("a Value with no numeric tensor")


def _record(data: bytes) -> dict[str, dict[str, tuple[np.ndarray, list[int], list[int]]]]:
    record: dict[str, dict] = {"features": {}, "label": {}}
    for number, _, payload in _fields(data):
        if number in (1, 2):
            name, value = "", b""
            for entry_number, _, entry in _fields(payload):  # type: ignore[arg-type]
                if entry_number == 1:
                    name = entry.decode()  # type: ignore[union-attr]
                elif entry_number == 2:
                    value = entry
            record["features" if number == 1 else "label"][name] = _value(value)  # type: ignore[arg-type]
    return record


def frames(data: bytes) -> Iterator[bytes]:
    """The serialized records of a RecordIO stream."""
    at = 0
    while at < len(data):
        if len(data) - at < 8:
            raise ValueError("the RecordIO stream ends inside a record header")
        magic, length = struct.unpack_from("<II", data, at)
        if magic != MAGIC:
            raise ValueError(f"byte {at} is not the start of a RecordIO record (magic {magic:#x})")
        at += 8
        yield data[at : at + length]
        at += (length + 3) & ~3


def read_records(data: bytes, where: str = "the data") -> tuple[np.ndarray, np.ndarray | None]:
    """Features (one row per record, dense; sparse ``keys`` are scattered into ``shape``) and labels."""
    rows, labels = [], []
    try:
        for frame in frames(data):
            record = _record(frame)
            values, keys, shape = record["features"].get("values", (np.zeros(0), [], []))
            if keys:
                dense = np.zeros(int(shape[0]) if shape else max(keys) + 1)
                dense[np.asarray(keys, dtype=np.int64)] = values
                values = dense
            rows.append(values)
            if "values" in record["label"]:
                labels.append(float(record["label"]["values"][0][0]))
    except (ValueError, IndexError, KeyError, UnicodeDecodeError) as exc:
        raise UserError(f"{where} is not recordIO-protobuf: {exc}") from None
    width = max((len(r) for r in rows), default=0)
    matrix = np.zeros((len(rows), width))
    for i, row in enumerate(rows):
        matrix[i, : len(row)] = row
    return matrix, (np.asarray(labels) if len(labels) == len(rows) and rows else None)


def _key(number: int, wire: int) -> bytes:
    return _encode_varint((number << 3) | wire)


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _key(number, 2) + _encode_varint(len(payload)) + payload


def encode_label_records(records: list[dict[str, list[float]]]) -> bytes:
    """A RecordIO stream of records whose ``label`` maps each name to a Float32Tensor: what the
    built-in algorithms answer (``{"score": [0.7], "predicted_label": [1.0]}`` per record)."""
    out = bytearray()
    for record in records:
        body = b""
        for name, values in record.items():
            tensor = _length_delimited(1, np.asarray(values, dtype="<f4").tobytes())
            value = _length_delimited(2, tensor)
            entry = _length_delimited(1, name.encode()) + _length_delimited(2, value)
            body += _length_delimited(2, entry)
        out += struct.pack("<II", MAGIC, len(body)) + body + b"\0" * (-len(body) % 4)
    return bytes(out)
