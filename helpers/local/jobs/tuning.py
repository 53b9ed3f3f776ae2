"""A hyperparameter tuning job's run: start training jobs, watch them, stop the hopeless, finish.

One thread per tuning job. It keeps up to ``MaxParallelTrainingJobs`` training jobs in flight
(capped at the number of CPUs, since every training job is a real process here), reads each
running job's objective from its log as it trains for the early-stopping rules, and feeds every
finished job's objective back to the search strategy.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from helpers.local.jobs import quotas
from helpers.local.jobs.runs import request_stop
from helpers.local.jobs.training import KIND as TRAINING_KIND
from helpers.local.jobs.training import start_training_job, training_job_document
from helpers.local.tuning.objective import jobs_not_improving
from helpers.local.tuning.plan import DefinitionPlan, TuningPlan
from helpers.local.tuning.strategies import SearchStrategy

log = logging.getLogger("helpers.local")

KIND = "HyperParameterTuningJob"
TRIALS = "TrainingJobs"  # the tuning job's record: the training jobs it launched, oldest first
TERMINAL = ("Completed", "Failed", "Stopped")  # for tuning jobs and training jobs alike
POLL_SECONDS = 0.05
# When the first training jobs all end without an objective, the rest would too: give up early.
FAILURES_BEFORE_GIVING_UP = 3


def training_job_name(tuning_job_name: str, index: int) -> str:
    """``<tuning job>-<NNN>-<8 hex>``, as SageMaker names a tuning job's training jobs."""
    return f"{tuning_job_name}-{index + 1:03d}-{uuid.uuid4().hex[:8]}"


def launched_training_jobs(store, tuning_job_name: str) -> list[dict[str, Any]]:
    """``{TrainingJobName, TunedHyperParameters[, TrainingJobDefinitionName]}`` of each job launched."""
    return (store.get_record(KIND, tuning_job_name) or {}).get(TRIALS, [])


def objective_value(training_job: dict[str, Any], metric_name: str) -> float | None:
    for metric in training_job.get("FinalMetricDataList", []):
        if metric["MetricName"] == metric_name:
            return metric["Value"]
    return None


@dataclass
class ChildJob:
    index: int
    name: str
    number: int  # which training job definition
    definition: DefinitionPlan
    local_index: int
    run: Any  # the TrainingJobRun, kept after it leaves the run registry
    history: list[float] = field(default_factory=list)
    stopping: bool = False


class HyperParameterTuningJobRun:
    def __init__(self, service, name: str, plan: TuningPlan, tags: list[dict[str, str]] | None):
        self.service = service
        self.name = name
        self.plan = plan
        self.tags = tags or []
        self.arn = service.arn("hyper-parameter-tuning-job", name)
        self.parallel = min(plan.max_parallel, os.cpu_count() or 1)
        self.strategies: list[SearchStrategy] = []  # built on the run's thread: optuna takes a second to load
        self.rule = plan.stopping_rule()
        self.running: dict[str, ChildJob] = {}
        self.launched = 0
        self.finished = 0
        self.without_objective = 0
        self.best: float | None = None
        self.completed: list[tuple[float, float]] = []  # (end time, objective) of Completed jobs
        self.exhausted = False
        self.enough = False  # a completion criterion was met: start no more jobs
        self.failure: str | None = None
        self.last_unsuccessful: tuple[ChildJob, dict[str, Any]] | None = None
        self._stop = threading.Event()

    def stop(self, reason: str | None = None) -> None:
        self._stop.set()

    def run(self) -> None:
        started = time.time()
        if self.parallel < self.plan.max_parallel:
            log.info(
                "Tuning job %s: running %d training jobs at a time, not %d: this machine has %d CPUs",
                self.name, self.parallel, self.plan.max_parallel, os.cpu_count() or 1,
            )  # fmt: skip
        try:
            self.strategies = self.plan.search_strategies()
            while not self.service.stopping.is_set():
                self._collect_finished()
                if self._stop.is_set() or self.failure:
                    self._stop_running(
                        self.failure or "Training job stopped because its tuning job was stopped"
                    )
                elif self._out_of_time(started):
                    self._stop_running("Training job stopped: its tuning job reached MaxRuntimeInSeconds")
                else:
                    self._watch_running()
                    self._launch()
                if not self.running and not self._can_launch():
                    break
                time.sleep(POLL_SECONDS)
            else:
                return  # the service is stopping: its shutdown ends this job Failed as interrupted
            self._finish()
        except Exception as exc:  # never leave a tuning job InProgress forever
            log.exception("Tuning job %s failed", self.name)
            self.failure = f"InternalServerError: the local service failed while tuning: {exc!r}"
            self._stop_running(self.failure)
            self._finish()

    # -- starting training jobs ---------------------------------------------------------------

    def _can_launch(self) -> bool:
        return not (
            self._stop.is_set()
            or self.failure
            or self.exhausted
            or self.enough
            or self.launched >= self.plan.max_jobs
        )

    def _launch(self) -> None:
        while self._can_launch() and len(self.running) < self.parallel:
            number, local_index = self.plan.assign(self.launched)
            strategy = self.strategies[number]
            if not strategy.ready(local_index):
                return
            # Held from the check to the start, so no other request takes the instances between.
            with quotas.LOCK:
                resources = self.plan.definitions[number].training_job_request("quota-check", {})[
                    "ResourceConfig"
                ]
                if not quotas.training_job_fits(self.service, resources):
                    return  # as on SageMaker, the next training job waits until instances are free
                tuned = strategy.suggest(local_index)
                if tuned is None:
                    self.exhausted = True
                    return
                self._start_child(number, local_index, tuned)

    def _start_child(self, number: int, local_index: int, tuned: dict[str, str]) -> None:
        definition = self.plan.definitions[number]
        name = training_job_name(self.name, self.launched)
        doc = training_job_document(
            self.service, definition.training_job_request(name, tuned), tuning_job_arn=self.arn
        )
        trial = {"TrainingJobName": name, "TunedHyperParameters": tuned}
        if definition.name:
            trial["TrainingJobDefinitionName"] = definition.name

        self.service.store.update_record(KIND, self.name, lambda r: r.setdefault(TRIALS, []).append(trial))
        self.service.store.update(KIND, self.name, lambda d: d.update(LastModifiedTime=time.time()))
        # Tags given to a tuning job are added to every training job it launches.
        start_training_job(self.service, doc, self.tags)
        run = self.service.runs.get(TRAINING_KIND, name)
        self.running[name] = ChildJob(self.launched, name, number, definition, local_index, run)
        self.launched += 1

    # -- watching them ------------------------------------------------------------------------

    def _read_history(self, child: ChildJob) -> bool:
        """Take the objective values the job's log reported since the last look; True if there were any."""
        metrics = getattr(child.run, "metrics", None)
        if metrics is None:
            return False
        values = metrics.history(child.definition.objective.metric_name, start=len(child.history))
        child.history.extend(values)
        return bool(values)

    def _watch_running(self) -> None:
        for child in list(self.running.values()):
            if self._read_history(child) and not child.stopping:
                reason = self.rule.should_stop(child.index, child.history)
                if reason:
                    self._stop_child(child, reason)

    def _stop_child(self, child: ChildJob, reason: str) -> None:
        if child.stopping:
            return
        child.stopping = True
        request_stop(self.service.store, self.service.runs, TRAINING_KIND, child.name, reason, reason)

    def _stop_running(self, reason: str) -> None:
        for child in list(self.running.values()):
            self._stop_child(child, reason)

    def _collect_finished(self) -> None:
        for name, child in list(self.running.items()):
            doc = self.service.store.get(TRAINING_KIND, name)
            if doc is None or doc["TrainingJobStatus"] not in TERMINAL:
                continue
            del self.running[name]
            self._read_history(child)
            self.rule.job_finished(child.index, child.history)
            value = objective_value(doc, child.definition.objective.metric_name)
            self.strategies[child.number].report(child.local_index, value)
            self._account(child, doc, value)

    def _account(self, child: ChildJob, doc: dict[str, Any], value: float | None) -> None:
        self.finished += 1
        if value is None:
            self.without_objective += 1
            self.last_unsuccessful = (child, doc)
            if self.without_objective == self.finished == FAILURES_BEFORE_GIVING_UP:
                self.failure = self._no_success()
            return
        if doc["TrainingJobStatus"] != "Completed":
            return
        objective = child.definition.objective
        if self.best is None or objective.better(value, self.best):
            self.best = value
        self.completed.append((doc["TrainingEndTime"], value))
        target = self.plan.target_objective
        if target is not None and not objective.better(target, self.best):
            self.enough = True
        limit = self.plan.max_jobs_not_improving
        if limit is not None and jobs_not_improving(self.completed, objective.minimize) >= limit:
            self.enough = True

    def _no_success(self) -> str:
        """AWS's reason for a tuning job none of whose training jobs reported the objective, and why
        the last one did not."""
        child, doc = self.last_unsuccessful
        why = doc.get("FailureReason") or (
            f"its log never reported the objective metric {child.definition.objective.metric_name}"
        )
        return (
            f"No training job succeeded after {self.finished} attempts. For additional details, please "
            "take a look at the training job failures by listing training jobs for the hyperparameter "
            f"tuning job. The last one, {child.name}: {why}"
        )

    def _out_of_time(self, started: float) -> bool:
        limit = self.plan.max_runtime
        if limit is not None and time.time() - started > limit:
            self.enough = True
            return True
        return False

    # -- ending -------------------------------------------------------------------------------

    def _finish(self) -> None:
        ended = time.time()

        # The status is decided on the stored document, so a Stop that lands while the run is
        # ending still ends the job Stopped, and an ending that is already recorded is kept.
        def change(d: dict[str, Any]) -> None:
            status = d["HyperParameterTuningJobStatus"]
            if status in TERMINAL:
                return
            stopped = self._stop.is_set() or status == "Stopping"
            if not self.failure and not stopped and self.finished and self.without_objective == self.finished:
                self.failure = self._no_success()  # every training job ended without the objective
            if self.failure:
                d.update(HyperParameterTuningJobStatus="Failed", FailureReason=self.failure)
            elif self._stop.is_set() or status == "Stopping":
                d["HyperParameterTuningJobStatus"] = "Stopped"
            else:
                d["HyperParameterTuningJobStatus"] = "Completed"
            d["HyperParameterTuningEndTime"] = ended
            d["LastModifiedTime"] = ended

        doc = self.service.store.update(KIND, self.name, change)
        status = doc["HyperParameterTuningJobStatus"] if doc else "gone"
        log.info("Tuning job %s %s after %d training jobs", self.name, status.lower(), self.launched)
