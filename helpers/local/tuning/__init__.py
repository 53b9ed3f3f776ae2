"""Hyperparameter tuning: parameter ranges, search strategies and early-stopping rules.

Nothing here starts jobs: ``jobs/tuning.py`` runs a tuning job's training jobs and asks these
modules which hyperparameters to try next and which running job to stop.
"""
