"""The scikit-learn framework image: the learner's own script (script mode) on scikit-learn."""
