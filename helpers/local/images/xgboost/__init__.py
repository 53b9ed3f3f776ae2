"""The built-in XGBoost algorithm image (SageMaker's ``sagemaker-xgboost`` repository, 1.7-1).

``python -m helpers.local.images.xgboost train`` trains on the container contract (see
:mod:`helpers.local.images.toolkit.container`); ``... serve`` answers ``/invocations`` with the model.
This module stays free of heavy imports: the service reads the metric definitions from it.
"""

MODEL_FILE = "xgboost-model"
