"""``python -m helpers.local.images.linear_learner train|serve``."""

from helpers.local.images.toolkit.container import main

main("helpers.local.images.linear_learner")
