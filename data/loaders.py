"""Read raw datasets (RecBole atomic folders or a pair of CSVs) into two checked frames.

Output frames use string tokens, before any id mapping:
- interactions: user, item, timestamp (int64), rating (float, NaN when absent), row (file order)
- items: item, title, year (nullable), genres (list[str]), extra (dict of other text columns)
Every problem raises DataFormatError naming the file, the row or column, and the fix.
"""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from data.errors import DataFormatError

TITLE_KEYS = ("title", "movie_title", "name")
YEAR_KEYS = ("year", "release_year")
GENRE_KEYS = ("genres", "genre", "class", "categories", "category")
MISSING_TOKENS = {"", "unknown", "unkonwn", "nan", "none"}


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise DataFormatError(f"{path}: file not found; check the path in your TALKREC_ settings")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataFormatError(f"{path}: the file is empty; add a header row and at least one data row")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataFormatError(
            f"{path}: line {line} is not valid UTF-8 (byte {raw[exc.start]:#x}); re-save the file as "
            f"UTF-8, e.g. `iconv -f latin1 -t utf-8 {path.name} > fixed.csv`"
        ) from exc


def _frame(path: Path, sep: str, names_from_header: bool = True) -> pd.DataFrame:
    text = _read_text(path)
    try:
        with warnings.catch_warnings():
            # index_col=False: a first data row with an extra field must not become an index and shift every
            # column; pandas warns instead, and that warning is an error here (later rows raise on their own)
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, quoting=csv.QUOTE_MINIMAL, index_col=False)
    except pd.errors.ParserWarning as exc:
        raise DataFormatError(
            f"{path}: data row 1 has more fields than the header; quote fields that contain the separator {sep!r}, or remove the extra field"
        ) from exc
    except pd.errors.ParserError as exc:
        raise DataFormatError(f"{path}: cannot be parsed ({str(exc).strip()}); check the separator and quoting") from exc
    if df.empty:
        raise DataFormatError(f"{path}: has a header but no data rows; add at least one row")
    if names_from_header:
        df.columns = [c.split(":", 1)[0].strip().lower() for c in df.columns]
        twice = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
        if twice:
            raise DataFormatError(
                f"{path}: column {twice[0]!r} appears more than once in the header (names ignore case and ':type'); rename or remove one"
            )
    return df.fillna("")  # a row with fewer fields than the header: its missing cells read as empty


def _pick(df: pd.DataFrame, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if key in df.columns:
            return key
    return None


def _require(df: pd.DataFrame, path: Path, options: dict[str, tuple[str, ...]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for role, keys in options.items():
        col = _pick(df, keys)
        if col is None:
            raise DataFormatError(
                f"{path}: missing column {role!r} (accepted names: {', '.join(keys)}; found: {', '.join(df.columns)}); add it to the header row"
            )
        found[role] = col
    return found


def _timestamps(values: pd.Series, path: Path, col: str) -> np.ndarray:
    ts = pd.to_numeric(values, errors="coerce").astype(np.float64)
    bad = ~np.isfinite(ts) | (ts.abs() >= 2.0**63)  # not a number, infinite, or beyond int64
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFormatError(
            f"{path}: column {col!r}, data row {i + 1}: timestamp {values.iloc[i]!r} is not a usable number; use Unix seconds (e.g. 881250949)"
        )
    return ts.to_numpy(dtype=np.float64).astype(np.int64)


def _ratings(raw: pd.Series, path: Path, column: str) -> pd.Series:
    """Numbers, or NaN where the cell is empty or a missing-value token; anything else (text, inf) is an error
    naming the row, not a silent NaN."""
    values = pd.to_numeric(raw, errors="coerce")
    blank = raw.isna() | raw.astype(str).str.strip().str.lower().isin(MISSING_TOKENS)
    bad = (values.isna() & ~blank) | np.isinf(values.fillna(0.0))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFormatError(
            f"{path}: data row {i + 1} has rating {raw.iloc[i]!r} in column {column!r}, which is not a finite number; "
            "fix it, leave the cell empty, or drop the column (ratings are optional)"
        )
    return values.where(~blank)


def _interactions(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    cols = _require(df, path, {"user": ("user_id", "user"), "item": ("item_id", "item"), "timestamp": ("timestamp", "time")})
    out = pd.DataFrame(
        {
            "user": df[cols["user"]].str.strip(),
            "item": df[cols["item"]].str.strip(),
            "timestamp": _timestamps(df[cols["timestamp"]], path, cols["timestamp"]),
        }
    )
    rating_col = _pick(df, ("rating",))
    out["rating"] = _ratings(df[rating_col], path, rating_col) if rating_col else np.nan
    for role in ("user", "item"):
        empty = out[role] == ""
        if empty.any():
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise DataFormatError(f"{path}: data row {i + 1} has an empty {role} id; fill it or drop the row")
    out["row"] = np.arange(len(out), dtype=np.int64)
    return out


def _year(value: str) -> int | None:
    v = value.strip()
    if v.lower() in MISSING_TOKENS:
        return None
    try:
        year = int(float(v))
    except (ValueError, OverflowError):  # not a number, or "1e400" / "inf"
        return None
    return year if 1800 <= year <= 2100 else None


def _items(df: pd.DataFrame, path: Path, genre_sep: str | None) -> pd.DataFrame:
    cols = _require(df, path, {"item": ("item_id", "item"), "title": TITLE_KEYS})
    year_col, genre_col = _pick(df, YEAR_KEYS), _pick(df, GENRE_KEYS)
    items = df[cols["item"]].str.strip()
    dup = items.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataFormatError(
            f"{path}: data row {i + 1}: item id {items.iloc[i]!r} appears more than once; each item needs one row (merge or drop the duplicates)"
        )
    genres: list[list[str]] = []
    for raw in df[genre_col] if genre_col else [""] * len(df):
        parts = raw.split(genre_sep) if genre_sep else raw.split()
        genres.append([g.strip() for g in parts if g.strip() and g.strip().lower() not in MISSING_TOKENS])
    used = {cols["item"], cols["title"], year_col, genre_col}
    extra_cols = [c for c in df.columns if c not in used]
    extras = [{c: str(row[c]).strip() for c in extra_cols if str(row[c]).strip()} for _, row in df.iterrows()] if extra_cols else [{}] * len(df)
    return pd.DataFrame(
        {
            "item": items,
            "title": df[cols["title"]].str.strip(),
            "year": [(_year(v) if year_col else None) for v in (df[year_col] if year_col else [""] * len(df))],
            "genres": genres,
            "extra": extras,
        }
    )


def load_atomic(folder: Path, name: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read NAME.inter and NAME.item from a RecBole atomic dataset folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFormatError(f"{folder}: not a folder; point TALKREC_CUSTOM_ATOMIC_DIR at a RecBole atomic dataset folder")
    name = name or folder.name
    inter_path, item_path = folder / f"{name}.inter", folder / f"{name}.item"
    for p in (inter_path, item_path):
        if not p.is_file():
            raise DataFormatError(f"{p}: missing; a RecBole atomic dataset needs {name}.inter and {name}.item")
    inter = _interactions(_frame(inter_path, "\t"), inter_path)
    items = _items(_frame(item_path, "\t"), item_path, genre_sep=None)
    return inter, items


def load_csv_pair(interactions_csv: Path, items_csv: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read interactions (user, item, timestamp[, rating]) and items (item, title[, year, genres, ...]).

    Genres in the CSV are separated by '|' (MovieLens style) or ','.
    """
    inter_path, item_path = Path(interactions_csv), Path(items_csv)
    inter = _interactions(_frame(inter_path, ","), inter_path)
    items_df = _frame(item_path, ",")
    genre_col = _pick(items_df, GENRE_KEYS)
    sep = "|" if genre_col and items_df[genre_col].str.contains("|", regex=False).any() else ","
    items = _items(items_df, item_path, genre_sep=sep)
    return inter, items


# ml-latest-small's "no genre" token, and how many of a film's tags join its sentence (most used first).
NO_GENRES = "(no genres listed)"
MAX_TAGS = 12


def load_movielens_csv(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a MovieLens CSV release (ratings.csv, movies.csv, optional tags.csv), as GroupLens publishes it.

    Users' free-text tags join the item as `tags: time travel, dark comedy` (lowercased, most used first), so the
    retriever can match wishes that no genre names.
    """
    folder = Path(folder)
    ratings_path, movies_path, tags_path = folder / "ratings.csv", folder / "movies.csv", folder / "tags.csv"
    ratings = _frame(ratings_path, ",").rename(columns={"userid": "user_id", "movieid": "item_id"})
    inter = _interactions(ratings, ratings_path)
    movies = _frame(movies_path, ",").rename(columns={"movieid": "item_id"})
    movies = movies.assign(genres=movies["genres"].where(movies["genres"] != NO_GENRES, "")) if "genres" in movies else movies
    items = _items(movies, movies_path, genre_sep="|")
    if tags_path.is_file():
        tags = _frame(tags_path, ",").rename(columns={"movieid": "item_id"})
        _require(tags, tags_path, {"item": ("item_id",), "tag": ("tag",)})
        text = tags["tag"].str.strip().str.lower()
        counted = pd.DataFrame({"item": tags["item_id"].str.strip(), "tag": text})[text != ""]
        counted = counted.groupby(["item", "tag"]).size().reset_index(name="n").sort_values(["item", "n", "tag"], ascending=[True, False, True])
        by_item = counted.groupby("item")["tag"].apply(lambda s: ", ".join(s.head(MAX_TAGS))).to_dict()
        items["extra"] = [
            {**extra, "tags": by_item[item]} if item in by_item else extra for item, extra in zip(items["item"], items["extra"], strict=True)
        ]
    return inter, items
