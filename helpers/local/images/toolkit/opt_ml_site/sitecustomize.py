"""Run at start-up by a Python process a local processing container starts: the same /opt/ml view."""

try:
    from helpers.local.images.toolkit.path_view import install_from_environment
except ImportError:  # not a local container's interpreter after all
    pass
else:
    install_from_environment()
