"""Model Monitor's read-only List calls: the service has no monitoring, so they list nothing.

The SageMaker SDK's endpoint clean-up (``Predictor.list_monitors()`` before ``delete_endpoint``, as
its own integration tests' ``timeout_and_delete_endpoint_by_name`` does) lists an endpoint's
monitoring schedules first; AWS answers an account without any with an empty list, not an error.
Each answer's list member is the one botocore's output shape requires.
"""

from __future__ import annotations

from typing import Any

from helpers.local.api.registry import operation
from helpers.local.core import protocol

EMPTY_LISTS = (
    "ListMonitoringSchedules",
    "ListMonitoringExecutions",
    "ListMonitoringAlertHistory",
    "ListDataQualityJobDefinitions",
    "ListModelQualityJobDefinitions",
    "ListModelBiasJobDefinitions",
    "ListModelExplainabilityJobDefinitions",
)


def _empty(operation_name: str) -> dict[str, Any]:
    shape = protocol.operation_model(operation_name).output_shape
    required = set(shape.required_members)
    return {
        name: [] for name, member in shape.members.items() if name in required and member.type_name == "list"
    }


def _register(operation_name: str) -> None:
    answer = _empty(operation_name)

    @operation(operation_name)
    def list_nothing(service, params: dict[str, Any]) -> dict[str, Any]:
        return {key: list(value) for key, value in answer.items()}


for _name in EMPTY_LISTS:
    _register(_name)
