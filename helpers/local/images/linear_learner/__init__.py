"""The built-in Linear Learner algorithm image (SageMaker's ``linear-learner`` repository).

``python -m helpers.local.images.linear_learner train|serve`` on the container contract (see
:mod:`helpers.local.images.toolkit.container`). The model is ``model/model_algo-1``, the file name the
real algorithm uses; its content is this image's own (numpy arrays, no pickle).
This module stays free of heavy imports: the service reads the metric definitions from it.
"""

MODEL_FILE = "model_algo-1"
