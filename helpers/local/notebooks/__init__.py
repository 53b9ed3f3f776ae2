"""Notebook instances: a folder as the instance's volume and a real JupyterLab server on it."""
