"""Images run as processes on the /opt/ml contract: logs, metrics, model data.

Each container is forked from a warm, pre-imported process of its image (``warm.py``,
``forkserver.py``), or spawned as ``python -m <image> train|serve`` when there is none.
"""
