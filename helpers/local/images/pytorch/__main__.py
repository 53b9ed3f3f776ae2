"""``python -m helpers.local.images.pytorch train|serve``."""

from helpers.local.images.toolkit.container import main

main("helpers.local.images.pytorch")
