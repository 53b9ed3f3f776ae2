"""Training in the scikit-learn image: the learner's script, run on the training toolkit's contract.

As aws/sagemaker-scikit-learn-container's ``training.py`` (``train(training_env)`` calling the
toolkit's ``entry_point.run``), this image adds nothing to the toolkit but scikit-learn itself.
"""

from __future__ import annotations

# Imported here so the image's warm process has them loaded before it forks a container: a script's
# own `import sklearn` / `import joblib` then costs nothing.
import joblib  # noqa: F401
import sklearn

from helpers.local.images.toolkit.container import TrainingEnvironment
from helpers.local.images.toolkit.framework_version import log_framework_version
from helpers.local.images.toolkit.script_mode import run_script

# The real image's SAGEMAKER_TRAINING_MODULE is sagemaker_sklearn_container.training:main.
FRAMEWORK_MODULE = "helpers.local.images.sklearn.train:train"


def train(env: TrainingEnvironment) -> None:
    # Whatever framework_version the estimator named, the script runs on the installed scikit-learn.
    log_framework_version("scikit-learn", sklearn.__version__)
    run_script(env, FRAMEWORK_MODULE)
