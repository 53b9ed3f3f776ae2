"""What a job would be billed on AWS: one usage interval per instance type, from its start to its end.

``JobMeter.started`` / ``ended`` are called by the run registry around every job run, and
``ended`` again for a job the service ended as interrupted; each reads the job's Describe document,
so the ledger holds the times the learner sees. A training job is billed its
``BillableTimeInSeconds`` × instances, transform and processing jobs their start→end × instances;
a tuning job holds no instances itself and costs the sum of the training jobs it launched (their
intervals name it as parent).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from helpers.local.core.pricing import PROCESSING, TRAINING, TRANSFORM
from helpers.local.store.usage import UsageLedger

log = logging.getLogger("helpers.local")

# kind -> (component, resources member, start time, end time)
BILLED_JOBS = {
    "TrainingJob": (TRAINING, "ResourceConfig", "TrainingStartTime", "TrainingEndTime"),
    "TransformJob": (TRANSFORM, "TransformResources", "TransformStartTime", "TransformEndTime"),
    "ProcessingJob": (PROCESSING, "ProcessingResources", "ProcessingStartTime", "ProcessingEndTime"),
}


def job_instances(kind: str, doc: dict[str, Any]) -> Counter:
    """Instances by type the job holds while it runs (instance groups included)."""
    resources = doc.get(BILLED_JOBS[kind][1]) or {}
    if kind == "ProcessingJob":
        resources = resources.get("ClusterConfig") or {}
    counts: Counter = Counter()
    for group in resources.get("InstanceGroups") or []:
        counts[group["InstanceType"]] += int(group["InstanceCount"])
    if "InstanceType" in resources:
        counts[resources["InstanceType"]] += int(resources.get("InstanceCount", 1))
    return counts


class JobMeter:
    def __init__(self, store, ledger: UsageLedger):
        self.store = store
        self.ledger = ledger

    def started(self, kind: str, name: str) -> None:
        if kind not in BILLED_JOBS:
            return
        doc = self.store.get(kind, name)
        if doc is None:
            return
        component = BILLED_JOBS[kind][0]
        arn = doc[f"{kind}Arn"]
        if self.ledger.open_intervals(arn):
            return  # already metered (a run is started once; this keeps it so)
        for instance_type, count in job_instances(kind, doc).items():
            self.ledger.open_interval(
                arn, name, kind, component, instance_type, count, parent_arn=doc.get("TuningJobArn")
            )

    def ended(self, kind: str, name: str) -> None:
        if kind not in BILLED_JOBS:
            return
        doc = self.store.get(kind, name)
        if doc is None:
            return
        _, _, start_key, end_key = BILLED_JOBS[kind]
        if end_key not in doc:
            log.warning("%s %s ended without an end time; its cost counts until now", kind, name)
        billable = doc.get("BillableTimeInSeconds") if kind == "TrainingJob" else None
        self.ledger.close_intervals(
            doc[f"{kind}Arn"], doc.get(end_key), started=doc.get(start_key), billable_seconds=billable
        )
