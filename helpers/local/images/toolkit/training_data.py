"""Training channels read into matrices, with failure messages that name the file and the cell.

CSV channels follow the built-in algorithms' layout: no header, the label in column 0, the
features after it, a comma between values. Reading goes through pandas' C parser (several times
faster than numpy on large files); only when it fails is the file scanned line by line to say where.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from helpers.local.images.toolkit.errors import UserError


def read_csv_channel(channel: str, files: list[Path]) -> np.ndarray:
    """All rows of the channel's CSV files as one float32 matrix (label in column 0)."""
    blocks: list[np.ndarray] = []
    first: Path | None = None
    for path in files:
        block = read_csv_file(channel, path)
        if block is None:
            continue
        if blocks and block.shape[1] != blocks[0].shape[1]:
            raise UserError(
                f"File '{path.name}' in channel '{channel}' has {block.shape[1]} columns but "
                f"'{first.name if first else ''}' has {blocks[0].shape[1]}; all files of a channel "
                "need the same columns (label first, then the features)."
            )
        first = first or path
        blocks.append(block)
    if not blocks:
        return np.empty((0, 0), dtype=np.float32)
    matrix = blocks[0] if len(blocks) == 1 else np.vstack(blocks)
    if matrix.shape[1] < 2:
        raise UserError(
            f"The {channel} channel has a single column; CSV training data needs the label in the "
            "first column followed by at least one feature."
        )
    return matrix


def read_csv_file(channel: str, path: Path) -> np.ndarray | None:
    """One CSV file as a float32 matrix, or None when it holds no rows."""
    import pandas as pd

    raw = path.read_bytes()
    if not raw.strip():
        return None
    try:
        matrix = pd.read_csv(io.BytesIO(raw), header=None, dtype=np.float32).to_numpy()
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
        raise UserError(_describe_csv_problem(channel, path, raw)) from None
    # pandas pads short rows with NaN; the field count tells whether every row was complete.
    rows, columns = matrix.shape
    if raw.count(b",") != rows * (columns - 1):
        raise UserError(_describe_csv_problem(channel, path, raw))
    return matrix


def _describe_csv_problem(channel: str, path: Path, raw: bytes) -> str:
    where = f"File '{path.name}' in channel '{channel}'"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return f"{where} is not UTF-8 text; please ensure the file is in CSV format."
    width = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        values = line.split(",")
        if width is None:
            width = len(values)
        elif len(values) != width:
            return (
                f"{where}: line {number} has {len(values)} values but the first line has {width}; "
                "every row needs the label followed by the same number of features."
            )
        for column, value in enumerate(values, start=1):
            if value.strip() == "":
                continue
            try:
                float(value)
            except ValueError:
                hint = " It looks like a header row: write the CSV without one." if number == 1 else ""
                return (
                    f"{where}: could not convert {value.strip()[:40]!r} (line {number}, column {column}) "
                    f"to a number; the built-in algorithms need numeric CSV with no header.{hint}"
                )
    return f"{where} could not be read as CSV; please ensure the file is in CSV format."


def read_libsvm_channel(channel: str, files: list[Path]) -> tuple[object, np.ndarray]:
    """``(features CSR matrix, labels)`` from LIBSVM files; feature indices are used as given."""
    from sklearn.datasets import load_svmlight_files

    files = [path for path in files if path.stat().st_size > 0]
    if not files:
        return None, np.empty(0, dtype=np.float32)
    try:
        loaded = load_svmlight_files([str(p) for p in files], zero_based=True, dtype=np.float32)
    except (ValueError, RuntimeError) as exc:
        names = ", ".join(f"'{p.name}'" for p in files)
        raise UserError(
            f"Channel '{channel}' ({names}) is not in LIBSVM format ({exc}). Each line must be "
            "'<label> <index>:<value> ...'; for CSV data set the channel's ContentType to text/csv."
        ) from exc
    import scipy.sparse

    matrices, labels = loaded[0::2], loaded[1::2]
    return scipy.sparse.vstack(matrices).tocsr(), np.concatenate(labels).astype(np.float32)
