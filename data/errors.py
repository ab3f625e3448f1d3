"""Named errors shared by every layer; each message says how to fix the problem."""

from __future__ import annotations


class TalkRecError(Exception):
    """Base class of every error TalkRec raises on purpose."""


class InvalidInput(TalkRecError, ValueError):
    """Input from a user or a caller that cannot be used as given."""


class DataFormatError(TalkRecError, ValueError):
    """A dataset file that cannot be read: names the file, the row or column, and the fix."""


class MissingArtifact(TalkRecError, FileNotFoundError):
    """A prepared artifact (dataset, index, checkpoint) is missing or stale."""


class BackendUnavailable(TalkRecError, RuntimeError):
    """An LLM backend that cannot answer (no key, server down, timeout)."""


class BackendTimeout(BackendUnavailable):
    """An LLM backend that took the request but did not answer within the timeout (the costly failure)."""
