"""``python -m helpers.local.images.xgboost train|serve``."""

import sys

from helpers.local.images.toolkit.container import main


def _import_xgboost_without_sklearn() -> None:
    """Import xgboost without scikit-learn, which it loads (over a second) only for its
    sklearn-style wrappers; this image never uses them, so jobs and endpoints start sooner."""
    if "xgboost" in sys.modules or "sklearn" in sys.modules:
        return
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # makes `import sklearn` fail fast
    try:
        import xgboost  # noqa: F401
    finally:
        del sys.modules["sklearn"]


_import_xgboost_without_sklearn()
main("helpers.local.images.xgboost")
