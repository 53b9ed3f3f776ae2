"""``python -m helpers.local.images.xgboost train|serve``."""

from ..container import main
from . import import_runtime

import_runtime()
main("helpers.local.images.xgboost")
