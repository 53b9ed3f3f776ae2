"""A framework image has no metrics of its own: the job's MetricDefinitions find the script's."""


def metric_definitions() -> list[dict[str, str]]:
    return []
