"""The tuning search strategies and stopping rules on their own, without the service."""

from __future__ import annotations

import random

import pytest

from helpers.local.core.errors import ValidationException
from helpers.local.tuning.bayesian import BayesianSearch
from helpers.local.tuning.early_stopping import MedianStoppingRule
from helpers.local.tuning.hyperband import HyperbandResource, HyperbandRule
from helpers.local.tuning.objective import jobs_not_improving
from helpers.local.tuning.ranges import parse_parameter_ranges
from helpers.local.tuning.strategies import GridSearch, RandomSearch
from tests.local.jobs.tuning_requests import RANGES, assert_inside

SPACE = parse_parameter_ranges(RANGES, "ParameterRanges")


@pytest.mark.parametrize("strategy", ["Random", "Bayesian"])
def test_strategies_suggest_values_inside_the_ranges(strategy):
    search = RandomSearch(SPACE, 1) if strategy == "Random" else BayesianSearch(SPACE, 1, True, 2, 30)
    for index in range(30):
        config = search.suggest(index)
        assert_inside(config, RANGES)
        search.report(index, float(config["max_depth"]) + float(config["eta"]))


def test_log_scaling_favours_small_values_and_reverse_log_values_near_one():
    search = RandomSearch(SPACE, 2)
    configs = [search.suggest(i) for i in range(400)]
    eta = sorted(float(c["eta"]) for c in configs)
    subsample = sorted(float(c["subsample"]) for c in configs)
    assert eta[200] < 0.2  # a linear search would put the median near 0.275
    assert subsample[200] > 0.85  # a linear search would put it near 0.745


def test_same_seed_same_bayesian_search_whatever_the_completion_order():
    def run(order_seed: int) -> list[dict[str, str]]:
        search, suggested, pending = BayesianSearch(SPACE, 5, True, 3, 20), [], []
        shuffle = random.Random(order_seed)
        for index in range(20):
            # Results arrive in any order; only whether job index - 3 is done gates the next one.
            while not search.ready(index):
                done = shuffle.choice(pending)
                pending.remove(done)
                search.report(done, float(suggested[done]["eta"]))
            suggested.append(search.suggest(index))
            pending.append(index)
        return suggested

    assert run(0) == run(1)


def test_grid_search_enumerates_integer_and_categorical_values():
    space = parse_parameter_ranges(
        {
            "IntegerParameterRanges": [{"Name": "a", "MinValue": "1", "MaxValue": "3"}],
            "CategoricalParameterRanges": [{"Name": "b", "Values": ["x", "y"]}],
        },
        "ParameterRanges",
    )
    grid = GridSearch(space)
    configs = [grid.suggest(i) for i in range(grid.size)]
    assert len({tuple(c.items()) for c in configs}) == grid.size == 6
    assert grid.suggest(6) is None
    with pytest.raises(ValidationException):
        GridSearch(SPACE)


def test_objective_not_improving_counts_jobs_in_the_order_they_ended():
    # (end time, objective) in launch order; the job launched first ended last. In launch order
    # the counts would be 2 and 0.
    jobs = [(3.0, 0.5), (1.0, 1.0), (2.0, 2.0)]
    assert jobs_not_improving(jobs, minimize=True) == 0  # the last to end is the best
    assert jobs_not_improving(jobs, minimize=False) == 1  # 2.0 ended second; 0.5 does not beat it


def test_median_rule_stops_only_jobs_worse_than_earlier_ones():
    rule = MedianStoppingRule(minimize=True)
    for index, history in enumerate(([5, 3, 2], [6, 4, 3], [5, 4, 2.5])):
        rule.job_finished(index, history)
    assert rule.should_stop(3, [4, 2]) is None
    assert rule.should_stop(3, [4, 2, 1, 0.5]) is None  # no earlier job reached round 4
    assert rule.should_stop(4, [9, 8]) is not None
    # Rounds that arrive together are each judged, so a fast job is caught by its early rounds.
    assert "after 1 rounds" in rule.should_stop(5, [9, 8, 7, 6])


def test_hyperband_rule_cuts_jobs_outside_the_best_third():
    rule = HyperbandRule(minimize=False, resource=HyperbandResource("num_round", 1, 9))
    assert rule.rungs == [1, 3]
    assert rule.should_stop(0, [0.9]) is None
    assert rule.should_stop(1, [0.8]) is not None
    assert rule.should_stop(2, [0.95, 0.96, 0.97]) is None
