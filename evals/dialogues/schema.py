"""Load scripted dialogues from YAML (format: evals/dialogues/README.md) into frozen dataclasses.

Strict on purpose: an unknown key, a wrong type or a duplicate id is an error naming the file and line,
so a typo in a script can never silently turn an expectation off.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from data.errors import DataFormatError
from evals.dialogues.checks import CHECKS, ScriptValueError

DIALOGUE_KEYS = {"id", "description", "user", "setup", "turns"}
SETUP_KEYS = {"favourites", "disliked", "seen"}
TURN_KEYS = {"say", "repeat", "expect"}
MAX_REPEAT = 10_000


class ScriptError(DataFormatError):
    """A dialogue script that cannot be used: names the file, the line and the fix."""


class _Map(dict):
    """A YAML mapping that remembers its 1-based line."""

    line: int = 0


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings carry their line and reject duplicate keys."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _Map:
    seen: set = set()
    for knode, _ in node.value:
        key = loader.construct_object(knode, deep=True)
        if key in seen:  # the second occurrence is the mistake
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", knode.start_mark)
        seen.add(key)
    out = _Map(loader.construct_mapping(node, deep=True))
    out.line = node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class Setup:
    favourites: tuple[str, ...] = ()  # titles added to the profile before the first turn
    disliked: tuple[str, ...] = ()
    seen: tuple[str, ...] = ()


@dataclass(frozen=True)
class Turn:
    say: str
    expect: dict[str, Any] = field(default_factory=dict)  # check name -> validated value
    line: int = 0


@dataclass(frozen=True)
class Dialogue:
    id: str
    turns: tuple[Turn, ...]
    description: str = ""
    user: int | None = None  # an ML-100K user id whose whole history is the profile
    setup: Setup = Setup()
    file: str = ""
    line: int = 0


def _where(path: Path, line: int) -> str:
    return f"{path}:{line}"


def _mapping(value: Any, path: Path, line: int, what: str, allowed: set[str]) -> _Map:
    if not isinstance(value, dict):
        raise ScriptError(f"{_where(path, line)}: {what} must be a mapping, got {type(value).__name__}")
    unknown = sorted(set(value) - allowed, key=str)
    if unknown:
        raise ScriptError(
            f"{_where(path, getattr(value, 'line', line))}: unknown key {unknown[0]!r} in {what}; allowed keys: {', '.join(sorted(allowed))}"
        )
    return value


def _titles(value: Any, path: Path, line: int, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ScriptError(f"{_where(path, line)}: setup.{key} must be a list of titles")
    return tuple(value)


def _turn(raw: Any, path: Path, line: int) -> Turn:
    raw = _mapping(raw, path, line, "a turn", TURN_KEYS)
    line = getattr(raw, "line", line)
    if "say" not in raw:
        raise ScriptError(f'{_where(path, line)}: a turn needs `say:` (use say: "" for an empty message)')
    say = raw["say"]
    if say is None:
        say = ""
    if not isinstance(say, str):
        raise ScriptError(f"{_where(path, line)}: `say:` must be text, got {type(say).__name__}; quote it")
    repeat = raw.get("repeat", 1)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
        raise ScriptError(f"{_where(path, line)}: `repeat:` must be a whole number from 1 to {MAX_REPEAT}")
    if repeat > 1:
        say = " ".join([say] * repeat)
    expect_raw = raw.get("expect") or _Map()
    expect_raw = _mapping(expect_raw, path, line, "expect", set(CHECKS))
    expect: dict[str, Any] = {}
    for key, value in expect_raw.items():
        try:
            expect[key] = CHECKS[key].validate(value)
        except ScriptValueError as exc:
            raise ScriptError(f"{_where(path, getattr(expect_raw, 'line', line))}: expect.{key}: {exc}") from None
    return Turn(say=say, expect=expect, line=line)


def _dialogue(raw: Any, path: Path, line: int) -> Dialogue:
    raw = _mapping(raw, path, line, "a dialogue", DIALOGUE_KEYS)
    line = getattr(raw, "line", line)
    did = raw.get("id")
    if not isinstance(did, str) or not did.strip():
        raise ScriptError(f"{_where(path, line)}: a dialogue needs an `id:` (a short unique name)")
    user = raw.get("user")
    if user is not None and (isinstance(user, bool) or not isinstance(user, int) or user < 1):
        raise ScriptError(f"{_where(path, line)}: dialogue {did!r}: `user:` must be a dataset user id (a whole number >= 1)")
    setup_raw = _mapping(raw.get("setup") or _Map(), path, line, f"setup of {did!r}", SETUP_KEYS)
    setup = Setup(**{k: _titles(v, path, getattr(setup_raw, "line", line), k) for k, v in setup_raw.items()})
    turns_raw = raw.get("turns")
    if not isinstance(turns_raw, list) or not turns_raw:
        raise ScriptError(f"{_where(path, line)}: dialogue {did!r} needs a non-empty `turns:` list")
    turns = tuple(_turn(t, path, line) for t in turns_raw)
    desc = raw.get("description", "")
    if not isinstance(desc, str):
        raise ScriptError(f"{_where(path, line)}: dialogue {did!r}: `description:` must be text")
    return Dialogue(id=did, turns=turns, description=desc.strip(), user=user, setup=setup, file=str(path), line=line)


def load_file(path: Path | str) -> list[Dialogue]:
    """The dialogues of one YAML file (a top-level list); ScriptError with file and line on any problem."""
    path = Path(path)
    if not path.is_file():
        raise ScriptError(f"{path}: no such dialogue file; pass YAML files or leave FILES out to run evals/dialogues/scripts/*.yaml")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        col = mark.column + 1 if mark else 0
        raise ScriptError(f"{path}:{line}:{col}: malformed YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ScriptError(f"{path}: malformed YAML: {exc}") from None
    if not isinstance(raw, list) or not raw:
        raise ScriptError(f"{path}:1: a dialogue file is a non-empty YAML list of dialogues (each starting with `- id: ...`)")
    return [_dialogue(d, path, 1) for d in raw]


def load_files(paths: Iterable[Path | str]) -> list[Dialogue]:
    """All dialogues of these files; ids must be unique across them."""
    out: list[Dialogue] = []
    first: dict[str, Dialogue] = {}
    for p in paths:
        for d in load_file(p):
            if d.id in first:
                raise ScriptError(
                    f"{d.file}:{d.line}: dialogue id {d.id!r} already used at {first[d.id].file}:{first[d.id].line}; ids must be unique"
                )
            first[d.id] = d
            out.append(d)
    return out
