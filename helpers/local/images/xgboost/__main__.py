"""``python -m helpers.local.images.xgboost train|serve``."""

from helpers.local.images.toolkit.container import main
from helpers.local.images.xgboost import import_runtime

import_runtime()
main("helpers.local.images.xgboost")
