"""Images run as processes on the /opt/ml contract: logs, metrics, model data."""
