"""Offline benchmarks and dialogue evaluations; each writes docs/results/<name>.json and .md."""
