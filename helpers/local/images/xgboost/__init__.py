"""The built-in XGBoost algorithm image (SageMaker's ``sagemaker-xgboost`` repository, 1.7-1).

``python -m helpers.local.images.xgboost train`` trains on the container contract (see
:mod:`helpers.local.images.toolkit.container`); ``... serve`` answers ``/invocations`` with the model.
This module stays free of heavy imports: the service reads the metric definitions from it.
"""

import sys

MODEL_FILE = "xgboost-model"


def import_runtime() -> None:
    """Import xgboost without scikit-learn, which it loads (over a second) only for its
    sklearn-style wrappers; this image never uses them, so jobs and endpoints start sooner.

    A container calls this before anything else; so does a warm process that forks containers.
    """
    if "xgboost" in sys.modules or "sklearn" in sys.modules:
        return
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # makes `import sklearn` fail fast
    try:
        import xgboost  # noqa: F401
    finally:
        del sys.modules["sklearn"]
