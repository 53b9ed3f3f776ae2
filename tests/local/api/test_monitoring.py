"""Model Monitor's List calls answer with empty lists: the SDK's endpoint clean-up lists schedules."""

from __future__ import annotations

import sagemaker
from sagemaker.predictor import Predictor

from tests.service_helpers import session_for


def test_list_monitoring_schedules_is_empty_so_sdk_clean_up_goes_on(service, sm):
    """``Predictor.list_monitors()``, which the SDK's integration tests call before deleting an
    endpoint (tests/integ/timeout.py), lists no schedule instead of failing with UnknownOperation."""
    assert sm.list_monitoring_schedules(EndpointName="any")["MonitoringScheduleSummaries"] == []
    assert sm.list_monitoring_executions()["MonitoringExecutionSummaries"] == []
    assert sm.list_data_quality_job_definitions()["JobDefinitionSummaries"] == []
    session = sagemaker.Session(boto_session=session_for(service))
    assert Predictor("any-endpoint", sagemaker_session=session).list_monitors() == []
