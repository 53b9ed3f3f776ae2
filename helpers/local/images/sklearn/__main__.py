"""``python -m helpers.local.images.sklearn train|serve``."""

from helpers.local.images.toolkit.container import main

main("helpers.local.images.sklearn")
