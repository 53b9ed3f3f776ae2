"""Algorithm containers started from warm, pre-imported processes (one per image) instead of a fresh interpreter."""
