"""Status bookkeeping shared by jobs: secondary status transitions, as DescribeTrainingJob shows them."""

from __future__ import annotations

import time
from typing import Any


def add_transition(doc: dict[str, Any], status: str, message: str) -> None:
    """Close the current secondary status and open ``status`` (no-op if it is already current)."""
    now = time.time()
    transitions = doc.setdefault("SecondaryStatusTransitions", [])
    if transitions and transitions[-1]["Status"] == status:
        return
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = now
    transitions.append({"Status": status, "StartTime": now, "StatusMessage": message})
    doc["SecondaryStatus"] = status
    doc["LastModifiedTime"] = now


def close_transitions(doc: dict[str, Any]) -> None:
    transitions = doc.get("SecondaryStatusTransitions") or []
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = time.time()


# Jobs whose processes die with the service: one that was running when it stopped ends like this.
INTERRUPTED_REASON = (
    "InternalServerError: the local service stopped while the job was running; start the job again."
)
INTERRUPTIBLE = ("TrainingJob", "TransformJob", "HyperParameterTuningJob", "ProcessingJob")
_END_TIME = {
    "TrainingJob": "TrainingEndTime",
    "TransformJob": "TransformEndTime",
    "HyperParameterTuningJob": "HyperParameterTuningEndTime",
    "ProcessingJob": "ProcessingEndTime",
}


def fail_interrupted(kind: str, doc: dict[str, Any]) -> None:
    """End a job the service stopped under: Failed if it was running, Stopped if it was stopping."""
    status_key = f"{kind}Status"
    if doc[status_key] not in ("InProgress", "Stopping"):
        return  # it ended on its own first: keep that ending
    ended = time.time()
    # A stop that was acknowledged (StopTrainingJob, or the runtime limit) ends as that stop.
    stopping = doc[status_key] == "Stopping"
    doc[status_key] = "Stopped" if stopping else "Failed"
    if not stopping:
        doc["FailureReason"] = INTERRUPTED_REASON
    doc[_END_TIME[kind]] = ended
    if kind == "TrainingJob":
        if stopping:
            last = (doc.get("SecondaryStatusTransitions") or [{}])[-1]
            runtime = "MaxRuntimeInSeconds" in last.get("StatusMessage", "")
            add_transition(doc, "MaxRuntimeExceeded" if runtime else "Stopped", "Training job stopped")
        else:
            add_transition(doc, "Failed", "Training job failed")
        close_transitions(doc)
        if "TrainingStartTime" in doc:
            seconds = max(1, round(ended - doc["TrainingStartTime"]))
            doc["TrainingTimeInSeconds"] = doc["BillableTimeInSeconds"] = seconds
    doc["LastModifiedTime"] = ended
