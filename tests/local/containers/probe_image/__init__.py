"""A test image that reports what its container sees: ``python -m tests.local.containers.probe_image train``.

Its ``behaviour`` hyperparameter picks what ``train`` does: ``report`` (the default) prints one JSON
line of facts (cwd, environment, process group, thread pools), ``client_error`` and ``crash`` fail as
an algorithm can, ``sleep`` waits with a child process in its group, ``exit_soon`` sleeps briefly
and succeeds.
"""

from helpers.local.images.xgboost import import_runtime  # noqa: F401 (the warm process calls it)
