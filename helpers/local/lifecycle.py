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
