"""A local, offline SageMaker-compatible service: real training, batch transform and hosting.

Run it with ``python -m helpers.local start``; point boto3 at it with
``eval "$(python -m helpers.local env)"``.
"""
