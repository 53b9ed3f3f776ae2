"""``python -m helpers.local.images.linear_learner train|serve``."""

from ..container import main

main("helpers.local.images.linear_learner")
