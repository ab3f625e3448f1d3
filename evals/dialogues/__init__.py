"""Scripted dialogue evaluations: YAML scripts (see README.md) run through the real agent and checked."""

from evals.dialogues.schema import Dialogue, ScriptError, load_file, load_files

__all__ = ["Dialogue", "ScriptError", "load_file", "load_files"]
