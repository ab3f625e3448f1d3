"""Datasets, the catalog, chronological splits and the title lookup (lowest layer)."""
