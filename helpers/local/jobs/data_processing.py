"""A transform job's ``DataProcessing``: InputFilter, JoinSource and OutputFilter, applied per record.

Follows the Developer Guide's "Associate Prediction Results with Input Records"
(batch-transform-data-processing) and the API reference's ``DataProcessing``: filters are the
JSONPath subset SageMaker supports (``$``, ``.name``, ``*``, ``['a','b']``, ``[1,3,-1]``,
``[start:end]``); a CSV row is taken as a JSON array, so only index paths apply to it; a joined
CSV record is the input's columns then the output's; a joined JSON object gets the output under
``SageMakerOutput`` (input that is not an object goes under ``SageMakerInput``).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from helpers.local.core.errors import ValidationException

CSV_TYPES = ("text/csv",)
JSON_TYPES = ("application/json", "application/jsonlines", "application/x-jsonlines")
# The characters CreateTransformJob accepts in a filter, besides letters and digits: AWS answers
# 'Unexpected "_" in JsonPath. Supported operators for "application/jsonlines" are [...]' otherwise.
OPERATORS = ("$", "[", "]", "*", ".", " ", ",", ":", "-", "'")
_OPERATOR_LIST = "[" + ", ".join(f"'{op}'" for op in OPERATORS) + "]"


class DataProcessingError(Exception):
    """A record the filters or the join cannot be applied to: the job fails with this message."""


@dataclass(frozen=True)
class Selector:
    """One step of a path: a child name, names, indexes with at most one range, or ``*``."""

    names: tuple[str, ...] = ()
    indexes: tuple[int, ...] = ()
    span: tuple[int | None, int | None] | None = None
    wildcard: bool = False

    @property
    def definite(self) -> bool:
        """Selects one value (``.a``, ``[1]``) rather than a collection of them."""
        return not self.wildcard and self.span is None and len(self.names) + len(self.indexes) == 1


@dataclass(frozen=True)
class JsonPath:
    text: str
    steps: tuple[Selector, ...]

    @property
    def is_root(self) -> bool:
        return not self.steps

    @property
    def index_only(self) -> bool:
        return all(not step.names for step in self.steps)

    def select(self, value: Any) -> Any:
        for step in self.steps:
            value = _apply(step, value, self.text)
        return value


def parse_path(text: str, field: str, content_type: str) -> JsonPath:
    """``text`` as a JSONPath of the supported subset, or the ValidationException AWS answers."""
    text = text.strip() or "$"
    for char in text:
        if not (char.isalnum() or char in OPERATORS):
            raise ValidationException(
                f'Invalid {field}: "{text}". Unexpected "{char}" in JsonPath. Supported operators for '
                f'"{content_type}" are {_OPERATOR_LIST}'
            )
    if not text.startswith("$"):
        raise ValidationException(f'Invalid {field}: "{text}". A JsonPath must start with "$".')
    steps: list[Selector] = []
    rest = text[1:]
    while rest:
        step, rest = _next_step(rest, field, text)
        steps.append(step)
    return JsonPath(text, tuple(steps))


def _invalid(field: str, text: str, why: str) -> ValidationException:
    return ValidationException(f'Invalid {field}: "{text}". {why}')


def _next_step(rest: str, field: str, text: str) -> tuple[Selector, str]:
    if rest.startswith(".["):  # "$.field1.['child1','child2']" is the documented form too
        rest = rest[1:]
    if rest.startswith("."):
        name, _, _ = rest[1:].partition(".")
        name = name.split("[", 1)[0]
        if not name:
            raise _invalid(field, text, "Expected a name after '.'.")
        after = rest[1 + len(name) :]
        return (Selector(wildcard=True) if name == "*" else Selector(names=(name,))), after
    if not rest.startswith("["):
        raise _invalid(field, text, "Expected '.' or '[' after '$'.")
    end = rest.find("]")
    if end < 0:
        raise _invalid(field, text, "Missing ']'.")
    inside, after = rest[1:end].strip(), rest[end + 1 :]
    if inside == "*":
        return Selector(wildcard=True), after
    parts = [part.strip() for part in inside.split(",")]
    if all(p.startswith("'") and p.endswith("'") and len(p) >= 2 for p in parts):
        names = tuple(p[1:-1] for p in parts)
        if any(not n or "." in n or "'" in n for n in names):
            # "$.field1.['child1','child2.grandchild']" is not supported, as the guide says.
            raise _invalid(field, text, "Nested children within brackets are not supported.")
        return Selector(names=names), after
    indexes: list[int] = []
    span: tuple[int | None, int | None] | None = None
    for part in parts:
        if ":" in part:
            if span is not None:
                # Accepted by CreateTransformJob; the job then fails with this message.
                raise DataProcessingError(
                    f"Invalid JsonPath: {text}: only single range filters of format (eg: [1:5]) are "
                    f"supported. Format [{inside}] is not supported"
                )
            start, _, stop = part.partition(":")
            span = (_number(start, field, text, True), _number(stop, field, text, True))
        else:
            number = _number(part, field, text, False)
            assert number is not None
            indexes.append(number)
    return Selector(indexes=tuple(indexes), span=span), after


def _number(part: str, field: str, text: str, may_be_empty: bool) -> int | None:
    part = part.strip()
    if not part and may_be_empty:
        return None
    try:
        return int(part)
    except ValueError:
        raise _invalid(field, text, f"'{part}' is not an index or a quoted name.") from None


def _apply(step: Selector, value: Any, text: str) -> Any:
    if step.names:
        if not isinstance(value, dict):
            raise DataProcessingError(
                f"JsonPath {text}: a name applies to a JSON object, not to {value!r:.80}."
            )
        missing = [name for name in step.names if name not in value]
        if missing:
            raise DataProcessingError(f"JsonPath {text}: no attribute {missing[0]!r} in the record.")
        if step.definite:
            return value[step.names[0]]
        return {name: value[name] for name in step.names}
    if step.wildcard:
        if isinstance(value, dict):
            return list(value.values())
        if isinstance(value, list):
            return list(value)
        raise DataProcessingError(f"JsonPath {text}: '*' applies to an object or an array.")
    if not isinstance(value, list):
        raise DataProcessingError(f"JsonPath {text}: an index applies to an array, not to {value!r:.80}.")
    size = len(value)
    picked: list[int] = []
    for index in step.indexes:
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            raise DataProcessingError(
                f"JsonPath {text}: index {index} is not within the record's {size} elements."
            )
        picked.append(position)
    if step.span is not None:
        picked.extend(_span(step.span, size))
    if step.definite:
        return value[picked[0]]
    return [value[position] for position in picked]


def _span(span: tuple[int | None, int | None], size: int) -> range:
    # The guide: "$[1:4] specifies the second through fifth columns" and "[:5]" the first through
    # the sixth: both ends are included; an omitted end is the last element.
    start, stop = span
    first = 0 if start is None else (start + size if start < 0 else start)
    last = size - 1 if stop is None else (stop + size if stop < 0 else stop)
    return range(max(first, 0), min(last, size - 1) + 1)


@dataclass(frozen=True)
class DataProcessing:
    """A job's parsed ``DataProcessing`` and the record format it works in."""

    input_filter: JsonPath
    output_filter: JsonPath
    join_input: bool
    csv_records: bool  # text/csv: rows as arrays; otherwise JSON values

    @property
    def active(self) -> bool:
        return self.join_input or not (self.input_filter.is_root and self.output_filter.is_root)

    def model_input(self, record: bytes) -> bytes:
        """The part of one input record the model gets, as a line of the input's format."""
        if self.input_filter.is_root:
            return record.rstrip(b"\r\n") + b"\n"
        return self.encode(self.input_filter.select(self.decode(record))) + b"\n"

    def result(self, record: bytes, output: bytes) -> bytes:
        """One line of the job's output for an input record and the model's answer to it."""
        if self.join_input:
            joined = self._join(self.decode(record), self.decode(output))
        elif self.output_filter.is_root:
            return output
        else:
            joined = self.decode(output)
        return self.encode(self.output_filter.select(joined))

    def split_answer(self, answer: bytes, count: int) -> list[bytes]:
        """The model's answer to ``count`` records, one output per record, for the join."""
        if count == 1:
            return [answer.strip(b"\r\n")]
        lines = [line for line in answer.splitlines() if line.strip()]
        if len(lines) == count:
            return lines
        if self.csv_records and len(lines) == 1:
            cells = self.decode(lines[0])
            if len(cells) == count:  # the older XGBoost images answer a batch on one line
                return [self.encode(cell) for cell in cells]
        raise DataProcessingError(
            f"the model answered {len(lines)} lines for {count} records; joining needs one answer line "
            f"per record (or BatchStrategy SingleRecord)."
        )

    def _join(self, record: Any, output: Any) -> Any:
        if self.csv_records:
            return record + output
        if isinstance(record, dict):
            return {**record, "SageMakerOutput": output}
        return {"SageMakerInput": record, "SageMakerOutput": output}

    def decode(self, data: bytes) -> Any:
        text = data.decode("utf-8").strip("\r\n")
        if self.csv_records:
            rows = list(csv.reader(io.StringIO(text)))
            return rows[0] if rows else []
        try:
            return json.loads(text)
        except ValueError as exc:
            raise DataProcessingError(f"a record is not valid JSON ({exc}): {text[:80]!r}") from None

    def encode(self, value: Any) -> bytes:
        if self.csv_records:
            out = io.StringIO()
            csv.writer(out, lineterminator="").writerow(value if isinstance(value, list) else [value])
            return out.getvalue().encode()
        return json.dumps(value, separators=(",", ":")).encode()


def data_processing(doc: dict[str, Any]) -> DataProcessing:
    """The job's DataProcessing, checked as CreateTransformJob checks it (ValidationException).

    A path SageMaker accepts but cannot apply raises ``DataProcessingError``: the job fails.
    """
    settings = doc.get("DataProcessing") or {}
    content_type = (doc["TransformInput"].get("ContentType") or "").split(";")[0].strip().lower()
    input_filter = parse_path(settings.get("InputFilter", "$"), "InputFilter", content_type)
    output_filter = parse_path(settings.get("OutputFilter", "$"), "OutputFilter", content_type)
    # No ContentType: the records go to the model untyped, which the algorithms read as CSV.
    csv_records = content_type in CSV_TYPES or not content_type
    join_input = settings.get("JoinSource") == "Input"
    processing = DataProcessing(input_filter, output_filter, join_input, csv_records)
    if processing.active:
        _check_formats(doc, content_type, processing)
    return processing


def _check_formats(doc: dict[str, Any], content_type: str, processing: DataProcessing) -> None:
    accept = (doc["TransformOutput"].get("Accept") or "").split(";")[0].strip().lower()
    supported = CSV_TYPES + JSON_TYPES
    for field, value in (("TransformInput.ContentType", content_type), ("TransformOutput.Accept", accept)):
        if value and value not in supported:
            raise ValidationException(
                f"DataProcessing supports only CSV and JSON data: {field} must be one of "
                f"{', '.join(supported)} (it is {value})."
            )
    split = doc["TransformInput"].get("SplitType", "None")
    if processing.csv_records or split != "None":
        if split != "Line":
            raise ValidationException(
                f"DataProcessing needs TransformInput.SplitType Line for CSV and JSON Lines records (it "
                f"is {split}; a single JSON document takes None): filters and joins apply to each record."
            )
        assemble = doc["TransformOutput"].get("AssembleWith", "None")
        if assemble != "Line":
            raise ValidationException(
                f"DataProcessing with SplitType Line needs TransformOutput.AssembleWith Line (it is "
                f"{assemble}): each joined record is written as one line."
            )
    if processing.csv_records:
        filters = (processing.input_filter, "InputFilter"), (processing.output_filter, "OutputFilter")
        for path, field in filters:
            if not path.index_only:
                raise ValidationException(
                    f'Invalid {field}: "{path.text}". For CSV data each row is taken as a JSON array, '
                    f"so only index based JSONPaths can be applied, e.g. $[0], $[1:]."
                )
