"""What each List operation answers, read from botocore's SageMaker model.

A List answer is a page of summaries: the output shape's one list member (``TrainingJobSummaries``)
holds structures whose members are a subset of the resource's Describe document. So a summary is
built from the shape, not typed out per operation, and it can never carry a member the SDK does not
know or leave out one the document has.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from helpers.local.core import protocol

# Summary members a Describe document holds deeper down than the summary does: member -> path.
NESTED_MEMBERS: dict[str, dict[str, tuple[str, ...]]] = {
    "ListHyperParameterTuningJobs": {
        "Strategy": ("HyperParameterTuningJobConfig", "Strategy"),
        "ResourceLimits": ("HyperParameterTuningJobConfig", "ResourceLimits"),
    },
}


@dataclass(frozen=True)
class ListShape:
    """One List operation's answer as botocore describes it."""

    operation: str
    result_key: str  # the output shape's list member, e.g. TrainingJobSummaries
    summary_members: tuple[str, ...]  # the members of one item of that list
    min_results: int  # MaxResults' range in the input shape
    max_results: int | None

    def page_size(self, preferred: int) -> int:
        """``preferred`` moved into the range MaxResults allows."""
        size = max(preferred, self.min_results)
        return min(size, self.max_results) if self.max_results is not None else size


@cache
def list_shape(operation: str) -> ListShape:
    model = protocol.operation_model(operation)
    lists = [name for name, shape in model.output_shape.members.items() if shape.type_name == "list"]
    if len(lists) != 1:
        raise ValueError(f"{operation} does not answer with exactly one list: {lists}")
    item = model.output_shape.members[lists[0]].member
    limits = model.input_shape.members["MaxResults"].metadata
    return ListShape(
        operation=operation,
        result_key=lists[0],
        summary_members=tuple(item.members),
        min_results=int(limits.get("min", 1)),
        max_results=int(limits["max"]) if "max" in limits else None,
    )


def summary(operation: str, document: dict[str, Any]) -> dict[str, Any]:
    """The item ``operation`` lists for ``document``: each summary member the document has."""
    nested = NESTED_MEMBERS.get(operation, {})
    result = {}
    for member in list_shape(operation).summary_members:
        if member in nested:
            value: Any = document
            for key in nested[member]:
                value = value.get(key) if isinstance(value, dict) else None
        else:
            value = document.get(member)
        if value is not None:
            result[member] = value
    return result
