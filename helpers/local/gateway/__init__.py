"""The one HTTP front door: who may call, which service answers."""
