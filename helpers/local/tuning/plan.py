"""A tuning job's request, checked and turned into what its run needs.

``describe_document`` fills in what DescribeHyperParameterTuningJob shows beyond the request (the
algorithm's metric definitions, ``_tuning_objective_metric``, empty range lists, defaults), and
``TuningPlan.from_document`` validates that document and builds the search: one
``DefinitionPlan`` per training job definition, each with its ranges, objective and strategy.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any

from helpers.local.core.errors import ValidationException
from helpers.local.tuning.early_stopping import MedianStoppingRule, StoppingRule
from helpers.local.tuning.hyperband import HyperbandResource, HyperbandRule, hyperband_resource
from helpers.local.tuning.objective import Objective, builtin_metric_definitions, resolve_objective
from helpers.local.tuning.ranges import ParameterRange, parse_parameter_ranges
from helpers.local.tuning.strategies import GridSearch, RandomSearch, SearchStrategy, grid_size

RANGE_LISTS = ("IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges")
OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"
# Fields of a training job definition that each training job takes over unchanged.
PASSED_THROUGH = (
    "RoleArn", "InputDataConfig", "OutputDataConfig", "ResourceConfig", "StoppingCondition", "VpcConfig",
    "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining",
    "CheckpointConfig", "RetryStrategy", "Environment",
)  # fmt: skip
DEFAULT_VOLUME_SIZE_GB = 30


def describe_document(params: dict[str, Any]) -> dict[str, Any]:
    """The request as DescribeHyperParameterTuningJob returns it (before status fields are added)."""
    if ("TrainingJobDefinition" in params) == ("TrainingJobDefinitions" in params):
        raise ValidationException(
            "Pass exactly one of TrainingJobDefinition (one algorithm) and TrainingJobDefinitions "
            "(several, each with a DefinitionName)."
        )
    for unsupported in ("WarmStartConfig", "Autotune"):
        if unsupported in params:
            raise ValidationException(
                f"{unsupported} is not supported by the local SageMaker service; create the tuning "
                "job without it."
            )
    config = copy.deepcopy(params["HyperParameterTuningJobConfig"])
    config.setdefault("TrainingJobEarlyStoppingType", "Off")
    doc: dict[str, Any] = {
        "HyperParameterTuningJobName": params["HyperParameterTuningJobName"],
        "HyperParameterTuningJobConfig": config,
    }
    if "TrainingJobDefinition" in params:
        if "ParameterRanges" not in config:
            raise ValidationException("HyperParameterTuningJobConfig.ParameterRanges is required.")
        if "HyperParameterTuningJobObjective" not in config:
            raise ValidationException(
                "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective is required: the "
                "tuning job needs a metric to compare training jobs by."
            )
        _fill_range_lists(config["ParameterRanges"])
        objective = config["HyperParameterTuningJobObjective"]["MetricName"]
        doc["TrainingJobDefinition"] = _definition_document(params["TrainingJobDefinition"], objective)
    else:
        definitions = []
        for i, definition in enumerate(params["TrainingJobDefinitions"]):
            where = f"TrainingJobDefinitions[{i}]"
            if "DefinitionName" not in definition:
                raise ValidationException(
                    f"{where}.DefinitionName is required when there are several definitions."
                )
            objective = definition.get("TuningObjective") or config.get("HyperParameterTuningJobObjective")
            if objective is None or "HyperParameterRanges" not in definition:
                raise ValidationException(f"{where} needs a TuningObjective and HyperParameterRanges.")
            definition = copy.deepcopy(definition)
            definition.setdefault("TuningObjective", objective)
            _fill_range_lists(definition["HyperParameterRanges"])
            definitions.append(_definition_document(definition, objective["MetricName"]))
        names = [d["DefinitionName"] for d in definitions]
        if len(set(names)) != len(names):
            raise ValidationException("Each of the TrainingJobDefinitions needs its own DefinitionName.")
        doc["TrainingJobDefinitions"] = definitions
    return doc


def _fill_range_lists(ranges: dict[str, Any]) -> None:
    # The SDK's attach() reads all three lists unconditionally.
    for key in RANGE_LISTS:
        ranges.setdefault(key, [])


def _definition_document(definition: dict[str, Any], objective_metric: str) -> dict[str, Any]:
    definition = copy.deepcopy(definition)
    algorithm = definition["AlgorithmSpecification"]
    if "TrainingImage" not in algorithm:
        raise ValidationException(
            "AlgorithmSpecification.TrainingImage is required locally (AlgorithmName refers to "
            "marketplace algorithms, which the local service does not have)."
        )
    own = algorithm.get("MetricDefinitions") or []
    own_names = {d["Name"] for d in own}
    builtin = [
        {"Name": d["Name"], "Regex": d["Regex"]}
        for d in builtin_metric_definitions(
            algorithm["TrainingImage"], definition.get("StaticHyperParameters")
        )
        if d["Name"] not in own_names
    ]
    algorithm["MetricDefinitions"] = own + builtin
    static = dict(definition.get("StaticHyperParameters") or {})
    static[OBJECTIVE_HYPERPARAMETER] = objective_metric
    definition["StaticHyperParameters"] = static
    definition["OutputDataConfig"].setdefault("KmsKeyId", "")
    tuning_resources = definition.get("HyperParameterTuningResourceConfig")
    if "ResourceConfig" not in definition:
        if not tuning_resources:
            raise ValidationException(
                "The training job definition needs ResourceConfig or HyperParameterTuningResourceConfig."
            )
        instance = (tuning_resources.get("InstanceConfigs") or [tuning_resources])[0]
        definition["ResourceConfig"] = {
            "InstanceType": instance.get("InstanceType", "ml.m5.xlarge"),
            "InstanceCount": instance.get("InstanceCount", 1),
            "VolumeSizeInGB": instance.get("VolumeSizeInGB", DEFAULT_VOLUME_SIZE_GB),
        }
    definition["ResourceConfig"].setdefault("InstanceCount", 1)
    definition["ResourceConfig"].setdefault("VolumeSizeInGB", DEFAULT_VOLUME_SIZE_GB)
    return definition


@dataclass
class DefinitionPlan:
    definition: dict[str, Any]
    space: list[ParameterRange]
    objective: Objective
    resource: HyperbandResource | None

    @property
    def name(self) -> str | None:
        return self.definition.get("DefinitionName")

    def training_job_request(self, name: str, tuned: dict[str, str]) -> dict[str, Any]:
        """The CreateTrainingJob request of one of the tuning job's training jobs."""
        definition = copy.deepcopy(self.definition)
        hyperparameters = {**definition.get("StaticHyperParameters", {}), **tuned}
        if self.resource is not None and self.resource.hyperparameter:
            hyperparameters[self.resource.hyperparameter] = str(self.resource.max_resource)
        spec = definition["AlgorithmSpecification"]
        builtin = {d["Name"] for d in builtin_metric_definitions(spec["TrainingImage"], hyperparameters)}
        algorithm = {"TrainingImage": spec["TrainingImage"], "TrainingInputMode": spec["TrainingInputMode"]}
        own = [d for d in spec.get("MetricDefinitions", []) if d["Name"] not in builtin]
        if own:
            algorithm["MetricDefinitions"] = own
        request = {
            "TrainingJobName": name,
            "AlgorithmSpecification": algorithm,
            "HyperParameters": hyperparameters,
        }
        request.update({key: definition[key] for key in PASSED_THROUGH if key in definition})
        return request


@dataclass
class TuningPlan:
    strategy: str
    definitions: list[DefinitionPlan]
    max_jobs: int
    max_parallel: int
    seed: int
    early_stopping: bool
    max_runtime: int | None = None
    target_objective: float | None = None
    max_jobs_not_improving: int | None = None

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> TuningPlan:
        """Validate a tuning job's document (see ``describe_document``); raises ValidationException."""
        config = doc["HyperParameterTuningJobConfig"]
        strategy = config["Strategy"]
        if "StrategyConfig" in config and strategy != "Hyperband":
            raise ValidationException("StrategyConfig applies to the Hyperband strategy only.")
        early_stopping = config["TrainingJobEarlyStoppingType"] == "Auto"
        if early_stopping and strategy == "Hyperband":
            raise ValidationException(
                "Hyperband stops training jobs by itself: set TrainingJobEarlyStoppingType to Off."
            )
        definitions = [
            _definition_plan(definition, ranges, objective, strategy, config, where)
            for definition, ranges, objective, where in _definitions(doc)
        ]
        if len({d.objective.type for d in definitions}) > 1:
            raise ValidationException(
                "All TrainingJobDefinitions must minimise, or all maximise, their objective."
            )
        limits = config["ResourceLimits"]
        max_jobs = limits.get("MaxNumberOfTrainingJobs")
        if strategy == "Grid":
            size = sum(grid_size(d.space) for d in definitions)
            if max_jobs is not None and max_jobs != size:
                raise ValidationException(
                    f"The Grid strategy runs every combination of the ranges, {size} training jobs: leave "
                    f"MaxNumberOfTrainingJobs out or set it to {size} (it is {max_jobs})."
                )
            max_jobs = size
        elif max_jobs is None:
            raise ValidationException(
                f"ResourceLimits.MaxNumberOfTrainingJobs is required with the {strategy} strategy."
            )
        criteria = config.get("TuningJobCompletionCriteria") or {}
        seed = config.get("RandomSeed")
        return cls(
            strategy=strategy,
            definitions=definitions,
            max_jobs=max_jobs,
            max_parallel=limits["MaxParallelTrainingJobs"],
            seed=random.SystemRandom().randrange(2**31) if seed is None else seed,
            early_stopping=early_stopping,
            max_runtime=limits.get("MaxRuntimeInSeconds"),
            target_objective=criteria.get("TargetObjectiveMetricValue"),
            max_jobs_not_improving=(criteria.get("BestObjectiveNotImproving") or {}).get(
                "MaxNumberOfTrainingJobsNotImproving"
            ),
        )

    @property
    def minimize(self) -> bool:
        return self.definitions[0].objective.minimize

    def search_strategies(self) -> list[SearchStrategy]:
        """One strategy per definition, seeded from RandomSeed."""
        jobs_each = -(-self.max_jobs // len(self.definitions))
        return [
            search_strategy(
                self.strategy, d.space, self.seed + i, self.minimize, self.max_parallel, jobs_each
            )
            for i, d in enumerate(self.definitions)
        ]

    def assign(self, index: int) -> tuple[int, int]:
        """(definition, that definition's own job number) for the tuning job's job ``index``."""
        if self.strategy == "Grid":
            # Grids are walked one definition after the other.
            for number, definition in enumerate(self.definitions):
                size = grid_size(definition.space)
                if index < size:
                    return number, index
                index -= size
            return len(self.definitions) - 1, index
        return index % len(self.definitions), index // len(self.definitions)

    def stopping_rule(self) -> StoppingRule:
        if self.strategy == "Hyperband":
            resource = self.definitions[0].resource
            assert resource is not None
            return HyperbandRule(self.minimize, resource)
        if self.early_stopping:
            return MedianStoppingRule(self.minimize)
        return StoppingRule()


def _definitions(doc: dict[str, Any]):
    config = doc["HyperParameterTuningJobConfig"]
    if "TrainingJobDefinition" in doc:
        yield (
            doc["TrainingJobDefinition"],
            config["ParameterRanges"],
            config["HyperParameterTuningJobObjective"],
            "HyperParameterTuningJobConfig.ParameterRanges",
        )
        return
    for i, definition in enumerate(doc["TrainingJobDefinitions"]):
        yield (
            definition,
            definition["HyperParameterRanges"],
            definition["TuningObjective"],
            f"TrainingJobDefinitions[{i}].HyperParameterRanges",
        )


def _definition_plan(
    definition: dict[str, Any],
    ranges: dict[str, Any],
    objective: dict[str, Any],
    strategy: str,
    config: dict[str, Any],
    where: str,
) -> DefinitionPlan:
    space = parse_parameter_ranges(ranges, where)
    static = definition.get("StaticHyperParameters", {})
    both = sorted(set(static) & {r.name for r in space})
    if both:
        raise ValidationException(
            f"These hyperparameters are both static and tuned: {', '.join(both)}. Remove them from "
            "StaticHyperParameters (the tuning job sets them) or drop their ranges."
        )
    resource = None
    if strategy == "Hyperband":
        resource = hyperband_resource(config.get("StrategyConfig"), static, [r.name for r in space])
    if strategy == "Grid":
        grid_size(space)  # raises for continuous ranges or an oversized grid
    where_objective = (
        "HyperParameterTuningJobObjective" if "TuningObjective" not in definition else "TuningObjective"
    )
    return DefinitionPlan(
        definition,
        space,
        resolve_objective(objective, definition["AlgorithmSpecification"], where_objective, static),
        resource,
    )


def search_strategy(
    strategy: str, space: list[ParameterRange], seed: int, minimize: bool, max_parallel: int, max_jobs: int
) -> SearchStrategy:
    """The strategy named by ``HyperParameterTuningJobConfig.Strategy`` over ``space``."""
    if strategy == "Grid":
        return GridSearch(space)
    if strategy == "Bayesian":
        from helpers.local.tuning.bayesian import (
            BayesianSearch,  # optuna loads in ~1 s: only when it is needed
        )

        return BayesianSearch(space, seed, minimize, max_parallel, max_jobs)
    return RandomSearch(space, seed)
