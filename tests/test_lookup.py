"""Title lookup on the real catalog: exact, forgiving, fuzzy, and honest when nothing matches."""

from __future__ import annotations

import random
import re

import pytest

from data.lookup import normalize, split_year


def test_finds_98_of_100_random_titles_lowercase_without_year(ml100k, lookup):
    rng = random.Random(7)
    items = [it for it in ml100k.catalog if not it.title.startswith("Untitled item")]
    sample = rng.sample(items, 100)
    hits = 0
    for it in sample:
        query = re.sub(r"\s*\(.*?\)", "", it.title).lower() or it.title.lower()
        res = lookup.lookup(query)
        # an ambiguous answer that lists the item counts (same title, two catalog entries)
        if (res.found and res.best.item_id == it.item_id) or (res.status == "ambiguous" and it.item_id in [m.item_id for m in res.matches]):
            hits += 1
    assert hits >= 98


@pytest.mark.parametrize(
    ("query", "title", "year"),
    [
        ("terminator 2", "Terminator 2: Judgment Day", 1991),
        ("the terminator", "The Terminator", 1984),
        ("Alien 1979", "Alien", 1979),
        ("alien (1979)", "Alien", 1979),
        ("ALIENS", "Aliens", 1986),
        ("usual suspects", "The Usual Suspects", 1995),
        ("godfathr", "The Godfather", 1972),
        ("star wars", "Star Wars", 1977),
        ("fargo", "Fargo", 1996),
    ],
)
def test_forgiving_lookup(lookup, query, title, year):
    res = lookup.lookup(query)
    assert res.found, res
    assert (res.best.title, res.best.year) == (title, year)


def test_matrix_is_not_in_ml100k_and_is_not_guessed(lookup):
    # The Matrix (1999) is newer than every ML-100K movie: we must not return a wrong film.
    res = lookup.lookup("the matrix")
    assert res.status == "not_found"
    assert res.best is None


@pytest.mark.parametrize("query", ["xqzvbn kwlp", "asdfghjkl", "", "   "])
def test_nonsense_is_not_found(lookup, query):
    res = lookup.lookup(query)
    assert res.status == "not_found" and res.matches == []


def test_not_found_gives_suggestions(lookup):
    res = lookup.lookup("godfather part 7")
    assert res.status == "not_found"
    assert any("Godfather" in m.title for m in res.suggestions)


def test_exact_scores_are_ranked(lookup):
    res = lookup.lookup("Heat")
    assert res.status == "exact" and res.best.score == 100.0


def test_normalize_and_split_year():
    assert normalize("The Usual Suspects") == "usual suspects"
    assert normalize("Amélie!") == "amelie"
    assert split_year("Alien 1979") == ("Alien", 1979)
    assert split_year("2001: A Space Odyssey") == ("2001: A Space Odyssey", None)


def test_leading_words_name_a_film_only_when_they_are_its_whole_main_title(ml100k):
    """A title's main part before a subtitle stands for it; the first words of a longer title do not (a film the
    catalog lacks must get the "couldn't find" notice, not a film that merely starts the same way)."""
    from data.catalog import Catalog
    from data.lookup import TitleLookup

    frame = ml100k.catalog.frame.head(6).copy()
    frame.loc[0, ["title", "year", "n_ratings"]] = ["Run Along Little Doggie", 1975, 40]
    frame.loc[1, ["title", "year", "n_ratings"]] = ["Stellar Quest: The Lost Moon", 1990, 10]
    frame.loc[2, ["title", "year", "n_ratings"]] = ["Stellar Quest: Return of the Comet", 1992, 300]
    lookup = TitleLookup(Catalog(frame))
    assert lookup.lookup("run along").status == "not_found"
    # every sequel shares the main title: the most rated of them is meant, whatever its subtitle's length
    res = lookup.lookup("stellar quest")
    assert res.found and res.best.title == "Stellar Quest: Return of the Comet"
    assert lookup.lookup("stellar qest").best.title == "Stellar Quest: Return of the Comet"  # typos still allowed
