"""The lexicon parser on the real ML-100K title lookup: an explicit year or genre outranks a relative or
mood word, in every intent, and a year's own words never become the wish."""

from __future__ import annotations

import pytest

from agents.lexicon import find_year_range, strip_year_phrases
from agents.nlu import Parser
from agents.nlu.intent import asks_for_films
from agents.nlu.wish import find_wish, tag_phrases
from agents.state import Session, ShownItem

SHOWN = [1, 50, 100, 181, 258]  # Toy Story, Star Wars, Fargo, Return of the Jedi, Contact


@pytest.fixture(scope="module")
def parser(lookup) -> Parser:
    return Parser(lookup)


def fresh() -> Session:
    return Session()


def after_a_list() -> Session:
    s = Session()
    s.shown = [ShownItem(i, 1, pos, "test", "") for pos, i in enumerate(SHOWN, start=1)]
    return s


def title_id(lookup, title: str) -> int:
    return lookup.lookup(title).best.item_id


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("before the 80s", (None, 1979)),
        ("older than the 1970s", (None, 1969)),
        ("until the sixties", (None, 1959)),
        ("since the nineties", (1990, None)),
        ("after the 70s", (1980, None)),
        ("newer than 1990", (1991, None)),
        ("earlier than 1975", (None, 1974)),
        ("later than 1990", (1991, None)),
        # unchanged: a decade on its own, "from" a decade, a range
        ("from the 80s", (1980, 1989)),
        ("Something from the 1990s.", (1990, 1999)),
        ("between 1990 and 1995", (1990, 1995)),
        ("before 1970", (None, 1969)),
    ],
)
def test_a_side_word_before_a_year_or_decade_bounds_one_side(text, years):
    assert find_year_range(text) == years


def test_year_phrases_are_stripped_with_their_side_words():
    assert strip_year_phrases("older ones, before 1970").split() == ["older", "ones,"]
    assert strip_year_phrases("westerns before the 70s please").split() == ["westerns", "please"]
    assert "nineties" not in strip_year_phrases("a comedy since the nineties")


@pytest.mark.parametrize("session", [fresh, after_a_list], ids=["first turn", "after a list"])
@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("older ones, before 1970", (None, 1969)),
        ("older than 1950 please", (None, 1949)),
        ("something older, from the 60s", (1960, 1969)),
        ("newer, after 1994", (1995, None)),
        ("newer sci-fi, since 1990", (1990, None)),
        ("recent thrillers from 1995 on", (1995, None)),
        ("classics until 1960", (None, 1959)),
        ("newer ones, after the eighties", (1990, None)),
    ],
)
def test_an_explicit_year_outranks_older_or_newer(parser, session, text, years):
    p = parser.parse(text, session())
    assert p.year_range == years
    assert p.relative_year is None
    for word in ("before", "after", "until", "since", "from", "older", "newer", "eighties"):
        assert word not in p.wish.split()


@pytest.mark.parametrize(("text", "relative"), [("something older", "older"), ("newer ones please", "newer"), ("any classics?", "older")])
def test_a_relative_word_alone_stays_relative(parser, text, relative):
    p = parser.parse(text, after_a_list())
    assert (p.year_range, p.relative_year, p.intent) == (None, relative, "refine")


def test_the_issue_dialogue_keeps_the_explicit_year_after_more_like(parser, lookup):
    s = fresh()
    first = parser.parse("Something like Groundhog Day", s)
    assert first.intent == "more_like" and first.titles == [title_id(lookup, "Groundhog Day")]
    s = after_a_list()
    p = parser.parse("older ones, before 1970", s)
    assert (p.intent, p.year_range, p.relative_year, p.wish) == ("refine", (None, 1969), None, "")


@pytest.mark.parametrize(
    ("text", "named", "ruled_out"),
    [
        ("a light comedy", ["Comedy"], ["Horror", "War", "Film-Noir"]),
        ("a dark comedy", ["Comedy"], ["Children's", "Musical", "Animation"]),
        ("a cosy mystery", ["Mystery"], ["Horror"]),
        ("a feel-good drama", ["Drama"], ["Horror", "Crime"]),
        ("something lighter, a thriller", ["Thriller"], ["Horror"]),
        ("a bloody western", ["Western"], []),
    ],
)
def test_a_named_genre_outranks_a_mood_word(parser, text, named, ruled_out):
    for session in (fresh(), after_a_list()):
        p = parser.parse(text, session)
        assert p.genres_any == named
        assert set(ruled_out) <= set(p.genres_none)


def test_a_mood_never_rules_out_the_genre_the_message_names(parser):
    p = parser.parse("a light war film", fresh())
    assert p.genres_any == ["War"] and "War" not in p.genres_none and "Horror" in p.genres_none
    p = parser.parse("an action film but nothing violent", fresh())
    assert p.genres_any == ["Action"] and "Action" not in p.genres_none and {"Horror", "War", "Crime"} <= set(p.genres_none)


@pytest.mark.parametrize(
    ("text", "wanted"),
    [("something lighter", {"Comedy", "Animation"}), ("something cosy", {"Comedy", "Romance"}), ("something dark", {"Thriller", "Crime"})],
)
def test_a_mood_alone_still_chooses_the_genres(parser, text, wanted):
    p = parser.parse(text, after_a_list())
    assert wanted <= set(p.genres_any)
    assert p.intent == "refine"


def test_the_issue_favourites_and_a_light_comedy(parser, lookup):
    p = parser.parse("I liked Fargo and Blade Runner. Now I want a light comedy.", fresh())
    assert p.intent == "recommend"
    assert p.titles == [title_id(lookup, "Fargo"), title_id(lookup, "Blade Runner")]
    assert p.genres_any == ["Comedy"] and "Romance" not in p.genres_any


def test_more_like_a_film_with_a_mood_genre_and_year(parser, lookup):
    p = parser.parse("more like Heat but an older dark comedy, before 1985", fresh())
    assert p.intent == "more_like" and p.titles == [title_id(lookup, "Heat")]
    assert (p.genres_any, p.year_range, p.relative_year) == (["Comedy"], (None, 1984), None)


def test_rejecting_the_list_with_a_mood_and_a_genre_is_feedback(parser):
    p = parser.parse("None of these. Something dark, a western.", after_a_list())
    assert (p.intent, p.feedback, p.refs) == ("feedback", "disliked", SHOWN)
    assert p.genres_any == ["Western"]
    p = parser.parse("None of these. Older ones, before 1965.", after_a_list())
    assert (p.intent, p.feedback, p.year_range, p.relative_year) == ("feedback", "disliked", (None, 1964), None)


def test_disliking_a_genre_is_not_feedback_on_the_list(parser):
    p = parser.parse("I don't like horror", after_a_list())
    assert p.feedback is None and p.genres_none == ["Horror"]


# -- loose, real-chat language (wave 3): each kind of failure seen in real dialogues, in this project's own words -----


def one_shown(lookup, title: str) -> Session:
    s = Session()
    s.shown = [ShownItem(title_id(lookup, title), 1, 1, "test", "")]
    return s


@pytest.mark.parametrize("text", ["got any recs?", "any ideas for tonight?", "can you help me find something", "what would you suggest"])
def test_a_bare_request_in_any_form_asks_for_recommendations(parser, text):
    assert parser.parse(text, fresh()).intent == "recommend"


def test_a_title_with_its_year_is_found_inside_a_sentence(parser, lookup):
    p = parser.parse("last week my sister and I watched Dead Man Walking (1995) at home", fresh())
    assert p.titles == [title_id(lookup, "Dead Man Walking")] and all(m.status == "found" for m in p.mentions)
    assert "dead" not in p.wish and "walking" not in p.wish


def test_a_year_that_disagrees_is_not_grounded_to_another_film(parser):
    """A film written with a year the catalog does not have under that title is reported, never swapped for the
    catalog's film of another year; an unknown recent film is reported the same way."""
    for text, name in (("my favourite is Heat (1972)", "Heat (1972)"), ("lately I rewatched Ocean's Eleven (2001)", "Ocean's Eleven (2001)")):
        p = parser.parse(text, fresh())
        assert p.titles == [] and [(m.text, m.status) for m in p.mentions] == [(name, "not_found")]


def test_function_words_and_contractions_never_become_the_wish(parser):
    p = parser.parse("I can't stand horror films, how about westerns", fresh())
    assert (p.genres_any, p.genres_none, p.wish) == (["Western"], ["Horror"], "")
    assert parser.parse("hey there, how's it going? I'm after something with dinosaurs", fresh()).wish == "dinosaurs"
    # talk about oneself that asks for nothing is no wish at all
    assert parser.parse("hey there, how's it going? I'm bored", fresh()).wish == ""


def test_seen_it_in_loose_chat_marks_the_one_film_on_the_table(parser, lookup):
    p = parser.parse("haha already watched that one", one_shown(lookup, "Fargo"))
    assert (p.intent, p.feedback) == ("feedback", "seen")


@pytest.mark.parametrize(
    ("text", "feedback"),
    [
        ("yep saw it, loved it", "liked"),
        ("watched it last year and it was great", "liked"),
        ("I saw it and did not like it at all", "disliked"),
        ("ooh that sounds interesting, I'll give it a try", "liked"),
        ("nice, I will check it out", "liked"),
    ],
)
def test_seen_and_judged_or_accepted_is_a_vote(parser, lookup, text, feedback):
    p = parser.parse(text, one_shown(lookup, "Fargo"))
    assert (p.intent, p.feedback) == ("feedback", feedback)


@pytest.mark.parametrize("text", ["I loved When Night Is Falling", "When Night Is Falling", "i loved when night is falling"])
def test_a_word_inside_a_longer_title_is_not_a_film_of_its_own(parser, lookup, text):
    # the tail "Falling" alone fuzzily matches "Falling in Love Again": it must not join the profile
    p = parser.parse(text, fresh())
    assert p.titles == [title_id(lookup, "When Night Is Falling")]


def test_a_title_named_alone_and_inside_a_longer_one_is_kept_twice(parser, lookup):
    p = parser.parse("I loved The Godfather and The Godfather: Part II", fresh())
    assert p.titles == [title_id(lookup, "The Godfather"), title_id(lookup, "The Godfather: Part II")]
    p = parser.parse("Alien, and then Aliens", fresh())
    assert p.titles == [title_id(lookup, "Alien"), title_id(lookup, "Aliens")]


@pytest.mark.parametrize(
    ("text", "wanted", "excluded"),
    [
        # a comma followed by a new clause ends the negation
        ("I'm not into westerns, how about a war film", ["War"], ["Western"]),
        ("nothing scary, maybe a comedy", ["Comedy"], ["Horror"]),
        ("no horror, but a thriller would do", ["Thriller"], ["Horror"]),
        # a list after the negation stays negated
        ("no horror, thriller or war", [], ["Horror", "Thriller", "War"]),
        ("not musicals, or westerns", [], ["Musical", "Western"]),
        # the negator's own verb does not start a new request; a second one does
        ("I don't want horror", [], ["Horror"]),
        ("I don't want horror, I want a comedy", ["Comedy"], ["Horror"]),
    ],
)
def test_negation_ends_where_a_new_clause_starts(parser, text, wanted, excluded):
    p = parser.parse(text, fresh())
    assert p.genres_any == wanted
    assert set(excluded) <= set(p.genres_none) and not set(wanted) & set(p.genres_none)


def test_a_lowercase_genre_after_a_cue_asks_for_the_genre_not_a_film_of_that_name(ml100k):
    from data.catalog import Catalog
    from data.lookup import TitleLookup

    # a catalog holding a film called "War" (ml-latest-small has one; ML-100K does not)
    frame = ml100k.catalog.frame.head(20).copy()
    frame.loc[0, ["title", "year"]] = ["War", 2007]
    p = Parser(TitleLookup(Catalog(frame))).parse("how about a war film?", fresh())
    assert p.genres_any == ["War"] and not p.mentions
    # capitalised and with its year, it is the film
    p = Parser(TitleLookup(Catalog(frame))).parse("how about War (2007)?", fresh())
    assert p.titles == [int(frame.loc[0, "item_id"])]


def _state_after(parser, ml100k, *messages: str) -> Session:
    from agents.dialogue import update_state

    s = fresh()
    for m in messages:
        update_state(ml100k.catalog, s, parser.parse(m, s))
    return s


def test_a_follow_up_request_keeps_the_genre_asked_for_earlier(parser, ml100k, lookup):
    # naming favourites, or asking for more, says nothing new about genres: the earlier filter holds
    s = _state_after(parser, ml100k, "I'm in the mood for something scary tonight", "I really liked Alien (1979) and Heat (1995)")
    assert s.constraints.genres_any == ["Horror"] and title_id(lookup, "Alien") in s.taste()
    s2 = _state_after(parser, ml100k, "a western from the 60s please", "got anything else?")
    assert s2.constraints.genres_any == ["Western"] and (s2.constraints.year_min, s2.constraints.year_max) == (1960, 1969)
    # a request that says what it wants starts afresh
    s3 = _state_after(parser, ml100k, "a western from the 60s please", "now a comedy")
    assert s3.constraints.genres_any == ["Comedy"] and s3.constraints.year_min is None


def test_a_topic_after_about_stays_a_topic_even_when_a_title_shares_its_word(ml100k):
    from data.catalog import Catalog
    from data.lookup import TitleLookup

    frame = ml100k.catalog.frame.head(20).copy()
    frame.loc[0, ["title", "year"]] = ["Pirates", 2012]
    p = Parser(TitleLookup(Catalog(frame))).parse("something about pirates", fresh())
    assert not p.mentions and "pirates" in p.wish
    p = Parser(TitleLookup(Catalog(frame))).parse("tell me about Pirates (2012)", fresh())
    assert p.titles == [int(frame.loc[0, "item_id"])]


@pytest.mark.parametrize(
    ("text", "kept", "dropped"),
    [
        ("a story about a teacher that doesn't end with a wedding", ["story", "teacher"], ["end", "wedding"]),
        ("nothing with clowns please, maybe something about dogs", ["dogs"], ["clowns"]),
        ("any genre really, with a strong heroine", ["strong", "heroine"], ["genre"]),
    ],
)
def test_a_negated_topic_never_becomes_the_wish(parser, text, kept, dropped):
    wish = parser.parse(text, fresh()).wish.split()
    assert all(w in wish for w in kept) and not any(w in wish for w in dropped)


@pytest.mark.parametrize(
    ("text", "kept", "dropped", "excluded"),
    [
        # a list of negated genres runs on past its commas, so the topic after it is negated for both
        ("no westerns, war or slasher stuff with horses", [], ["horses"], ["Western", "War"]),
        # "how about" starts a new request: the filters keep comedy, and the wish keeps its topic
        ("I don't enjoy musicals how about comedies set on a submarine", ["submarine"], ["enjoy"], ["Musical"]),
        # the negator's own wish verb does not end it; "but" does
        ("I don't want sad dramas about cancer, but a fun caper on a train", ["caper", "train"], ["sad", "cancer"], ["Drama"]),
    ],
)
def test_the_filters_and_the_wish_agree_on_what_a_negation_covers(parser, text, kept, dropped, excluded):
    p = parser.parse(text, fresh())
    wish = p.wish.split()
    assert all(w in wish for w in kept), wish
    assert not any(w in wish for w in dropped), wish
    assert all(g in p.genres_none for g in excluded), p.genres_none


@pytest.mark.parametrize(
    ("text", "wish"),
    [
        ("Fine, thanks for asking! Anything set on a train?", "set train"),
        ("Oops sorry, typo. Something set in the desert", "set desert"),
        ("Got a caper I could rent or stream? Preferably already out on DVD", "caper"),
        ("Courtroom stuff is right up my alley", "courtroom"),
        ("I'm open to ideas, maybe something with submarines", "submarines"),
    ],
)
def test_pleasantries_where_to_watch_and_chat_idioms_never_become_the_wish(parser, text, wish):
    assert parser.parse(text, fresh()).wish == wish


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("Haven't seen it, is it a sequel?", False),
        ("What's that one about?", False),
        ("Sounds fun, but was it too long?", False),
        ("Any heist films?", True),
        ("Seen it. Something set at sea?", True),
    ],
)
def test_a_question_about_the_film_shown_asks_for_no_other_film(text, asks):
    assert asks_for_films(text) is asks


def test_hedges_and_questions_about_the_film_shown_never_become_the_wish(parser):
    assert parser.parse("That's a bit more of a comedy, actually", fresh()).wish == ""
    assert parser.parse("Haven't seen it, is it a sequel?", fresh()).wish == ""
    assert parser.parse("I'm a big fan of submarine films", fresh()).wish == "submarine"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("we saw Twelve Monkeys already lol", "Twelve Monkeys"),
        ("we loved The Usual Suspects sooo much tbh", "The Usual Suspects"),
    ],
)
def test_a_capitalised_title_ends_where_the_capitals_end(parser, lookup, text, title):
    p = parser.parse(text, fresh())
    assert [m.status for m in p.mentions] == ["found"]
    assert p.titles == lookup.exact_ids(title)[:1]


def test_an_age_is_not_a_decade(parser):
    p = parser.parse("I watched a lot of thrillers in my early 20s", fresh())
    assert p.year_range is None and p.genres_any == ["Thriller"]
    assert parser.parse("thrillers from the 90s", fresh()).year_range == (1990, 1999)


def test_a_reaction_to_a_suggestion_does_not_describe_what_is_wanted(services):
    # the words of a "seen it" that asks for nothing more stay out of the wish; a reaction that asks for more adds them
    s = services.new_session()
    services.agent.turn(s, "a comedy from the 90s please")
    services.agent.turn(s, "seen the first one, I thought it was a remake of an older film")
    assert "remake" not in s.wish
    services.agent.turn(s, "seen the second one. anything about pirates?")
    assert "pirates" in s.wish


@pytest.mark.parametrize(
    ("text", "wish"),
    [
        # talk about oneself that asks for nothing and sets no filter describes no film
        ("Well I tried, I was so lost the whole time", ""),
        ("I read the novel and saw the first one on a plane", ""),
        # a description, a request or a stated taste keeps its words
        ("films about pirates", "pirates"),
        ("I want a movie about pirates", "pirates"),
        ("I like films with a twist ending", "twist ending"),
        ("I was hoping for something set in a submarine", "set submarine"),
        # sentence by sentence: the one about the speaker drops out, the request stays
        ("Hi! I've had a long week at the office. Got something with dinosaurs?", "dinosaurs"),
        ("We finished the series last night... any films about submarines?", "submarines"),
    ],
)
def test_only_a_request_or_a_description_becomes_the_wish(parser, text, wish):
    assert parser.parse(text, fresh()).wish == wish


def test_an_ellipsis_ends_a_negation_and_a_genre_asked_for_stays_wanted(parser):
    p = parser.parse("no, i can't stand westerns...i like musicals", fresh())
    assert (p.genres_any, p.genres_none) == (["Musical"], ["Western"])
    # asked for and negated in one message: the negation is about a kind of it
    p = parser.parse("I like comedies, but not the slapstick comedies", fresh())
    assert p.genres_any == ["Comedy"] and p.genres_none == []


@pytest.mark.parametrize(("text", "years"), [("sci-fi from the 50's, 60's or 70's", (1950, 1979)), ("seventies or eighties thrillers", (1970, 1989))])
def test_a_list_of_decades_spans_them(text, years):
    assert find_year_range(text) == years


@pytest.mark.parametrize("text", ["do you have any recomendations?", "any reccomendations for me", "what do you sugest"])
def test_a_misspelt_request_is_still_a_request(parser, text):
    assert parser.parse(text, fresh()).intent == "recommend"


def test_a_decade_without_its_century_is_read_within_the_catalog(parser):
    # ML-100K ends in 1998: "the 20s" are the 1920s there; a century written out is taken as written
    assert parser.parse("a comedy from the 20s", fresh()).year_range == (1920, 1929)
    assert parser.parse("a comedy from the 1920s", fresh()).year_range == (1920, 1929)
    assert parser.parse("a comedy from the 80s", fresh()).year_range == (1980, 1989)
    assert find_year_range("a comedy from the 20s", latest=2030) == (2020, 2029)


# -- the sentence going on after a title, counts and ages, the audience, "all the time" --------------------------
def test_a_chat_word_after_a_lowercase_title_goes_on_with_the_sentence(parser, lookup):
    p = parser.parse("I've seen twelve monkeys like 4 times, got others?", fresh())
    assert p.titles == [title_id(lookup, "Twelve Monkeys")]
    assert all(m.status == "found" for m in p.mentions)  # no "couldn't find twelve monkeys like 4 times"
    assert "times" not in p.wish.split()
    p = parser.parse("we watched raising arizona twice already lol", fresh())
    assert p.titles == [title_id(lookup, "Raising Arizona")] and all(m.status == "found" for m in p.mentions)
    # a word that may go on with a title still does: "clueless about money" is no film "Clueless"
    p = parser.parse("it is about a girl who is clueless about money", fresh())
    assert p.titles == [] and "clueless" in p.wish


def test_a_number_with_its_unit_is_a_quantity_not_a_title(parser, lookup):
    p = parser.parse("I enjoyed Trainspotting about 3 times", fresh())
    assert p.titles == [title_id(lookup, "Trainspotting")]
    assert [m for m in p.mentions if m.status != "found"] == []  # "3 times" is not reported as an unknown film
    assert find_wish("a film under 2 hours for a 9 year old") == ""


def test_who_will_watch_is_not_what_the_film_is_about(parser):
    p = parser.parse("My wife likes westerns and I like comedies, maybe something with horses?", fresh())
    assert "wife" not in p.wish and "horses" in p.wish
    assert find_wish("our kids want dinosaurs") == "dinosaurs"
    assert find_wish("me and my 12 year old son want volcanoes") == "volcanoes"
    # the people a film is about stay: "her gardener" is the film's, not the viewer
    assert find_wish("a film about a widow and her gardener") == "widow gardener"


def test_when_something_happened_is_no_topic(parser):
    p = parser.parse("westerns put me to sleep all the time, something gripping please", fresh())
    assert "time" not in p.wish.split() and "gripping" in p.wish
    assert "time" in parser.parse("a story on time and memory", fresh()).wish


def test_a_hyphenated_wish_word_is_known_by_its_parts(lookup):
    vocab = frozenset({"sea", "adventure"})
    p = Parser(lookup, vocabulary=vocab).parse("a sea-faring tale", fresh())
    assert p.wish == "sea-faring tale"
    assert Parser(lookup, vocabulary=vocab).parse("qwzx-vvbn", fresh()).wish == ""


def test_tag_phrases_keep_descriptions_and_leave_out_verdicts_genres_and_negations():
    tags = ["dark comedy", "steve buscemi", "bad acting", "too long", "film noir", "not too thrilled", "must see", "didn't get it", "slapstick"]
    assert tag_phrases(tags) == {"dark comedy", "steve buscemi"}
    assert find_wish("any good dark comedy?", tag_phrases(tags)) == "dark comedy"
    assert "dark comedy" not in find_wish("no dark comedy, a story on a ship please", tag_phrases(tags))
    assert find_wish("any good dark comedy?") == ""  # without the catalog's tags, "dark" is a mood and "comedy" a filter


def test_tell_me_more_about_a_shown_film_asks_about_it(parser):
    p = parser.parse("the third one looks fun, tell me more", after_a_list())
    assert p.intent == "item_info" and p.targets == [SHOWN[2]]
    assert find_wish("christmas films for the whole family") == "christmas"


def test_a_weepy_asks_for_a_drama(parser):
    for text in ("a real weepy please", "something heartbreaking", "I need a tear-jerker"):
        assert "Drama" in parser.parse(text, fresh()).genres_any, text


# -- seeing and liking, negated --------------------------------------------------------------------------------
def test_a_film_not_yet_watched_is_not_marked_seen(parser):
    p = parser.parse("I have not caught the fourth one yet, worth a look?", after_a_list())
    assert p.feedback is None and p.intent == "item_info" and p.targets == [SHOWN[3]]
    p = parser.parse("not gotten round to seeing any of those", after_a_list())
    assert p.feedback is None and p.intent == "item_info"
    # the rest of the message still counts: new to them, and they like the sound of it
    p = parser.parse("didn't get to watch it, but it sounds fun", after_a_list())
    assert p.feedback == "liked"
    assert parser.parse("I've already watched the fourth one", after_a_list()).feedback == "seen"


def test_liking_negated_is_a_vote_against(parser):
    p = parser.parse("didnt enjoy the second one much", after_a_list())
    assert p.feedback == "disliked" and p.targets == [SHOWN[1]]
    assert parser.parse("I do not really care for the third one", after_a_list()).feedback == "disliked"
    assert parser.parse("I liked the third one", after_a_list()).feedback == "liked"


def test_a_greeting_before_a_request_is_still_a_request(parser):
    assert parser.parse("Evening! I'm bored, what could I watch?", fresh()).intent == "recommend"
    assert parser.parse("hiya, can you suggest one for tonight", fresh()).intent == "recommend"
    assert parser.parse("thanks, I will watch it", fresh()).intent != "recommend"


def test_a_verdict_before_seen_is_a_favourite(parser):
    p = parser.parse("the third one was brilliant but I've already watched it", after_a_list())
    assert p.feedback == "liked" and p.targets == [SHOWN[2]]


def test_each_named_film_is_judged_by_its_own_clause(parser, lookup):
    ids = {t: title_id(lookup, t) for t in ("Babe", "Twister", "Clueless", "Vertigo", "Casablanca")}
    p = parser.parse("I adored Babe but I couldn't stand Twister", fresh())
    assert set(p.titles) == {ids["Babe"], ids["Twister"]} and p.against == [ids["Twister"]]
    p = parser.parse("Clueless was dull, Vertigo was wonderful", fresh())
    assert p.against == [ids["Clueless"]]
    p = parser.parse("honestly I cannot stand Vertigo or Casablanca", fresh())
    assert set(p.against) == {ids["Vertigo"], ids["Casablanca"]}
    p = parser.parse("I disliked westerns until I saw Casablanca", fresh())
    assert p.against == []
    assert parser.parse("I loved Babe and Clueless", fresh()).against == []


def test_a_film_spoken_against_is_rejected_and_the_others_are_favourites(services):
    s = services.new_session()
    services.agent.turn(s, "I adored Babe but I couldn't stand Twister")
    babe, twister = (services.lookup.lookup(t).best.item_id for t in ("Babe", "Twister"))
    assert babe in s.taste() and twister in s.disliked and twister not in s.taste()


def test_a_run_of_the_list_points_at_each_film_in_it(parser):
    p = parser.parse("already watched the last two, got more?", after_a_list())
    assert p.feedback == "seen" and p.targets == SHOWN[-2:]
    p = parser.parse("the first 3 look good", after_a_list())
    assert p.targets == SHOWN[:3]
    # a count of years is no run of the list
    assert parser.parse("the last 2 years", after_a_list()).targets == []


def test_lowercase_chat_words_are_not_a_film_that_shares_them(parser, lookup):
    from data.catalog import Catalog
    from data.lookup import TitleLookup

    frame = lookup.catalog.frame.head(20).copy()
    frame.loc[0, ["title", "year"]] = ["The Others", 2001]
    p = Parser(TitleLookup(Catalog(frame))).parse("got through the top two, and the others?", after_a_list())
    assert p.titles == []
    assert Parser(TitleLookup(Catalog(frame))).parse("I loved The Others", fresh()).titles == [int(frame.loc[0, "item_id"])]


def test_on_the_edge_of_your_seat_asks_for_a_thriller(parser):
    p = parser.parse("something to keep me on the edge of my seat", fresh())
    assert p.genres_any == ["Thriller"] and p.wish == ""
    assert "Thriller" in parser.parse("an edge-of-your-seat ride", fresh()).genres_any


def test_all_but_some_of_the_list(parser):
    p = parser.parse("I have watched every one of them apart from the second", after_a_list())
    assert p.feedback == "seen" and p.targets == [i for i in SHOWN if i != SHOWN[1]]
    p = parser.parse("saw them all but not the top two", after_a_list())
    assert p.targets == SHOWN[2:]


def test_a_surname_is_not_a_one_word_title(lookup):
    from data.catalog import Catalog
    from data.lookup import TitleLookup

    frame = lookup.catalog.frame.head(20).copy()
    frame.loc[0, ["title", "year"]] = ["Dunmore", 1999]
    parser = Parser(TitleLookup(Catalog(frame)))
    assert parser.parse("anything featuring Ellen Dunmore?", fresh()).titles == []
    assert parser.parse("I watched Dunmore last week", fresh()).titles == [int(frame.loc[0, "item_id"])]
    assert parser.parse("Loved it. Dunmore too", fresh()).titles == [int(frame.loc[0, "item_id"])]


def test_a_new_topic_alone_keeps_the_genre_the_talk_set(services):
    s = services.new_session()
    services.agent.turn(s, "a scary film please")
    r = services.agent.turn(s, "maybe something with a lighthouse")
    assert "Horror" in s.constraints.genres_any and "lighthouse" in s.wish
    assert r.items and all("Horror" in services.catalog.get(i.item_id).genres for i in r.items)
    assert "Horror" in parser_genres(services, "something creepier")


def parser_genres(services, text: str) -> list[str]:
    return services.agent.parser.parse(text, Session()).genres_any


def test_the_film_asked_about_is_the_one_the_question_points_at(parser):
    p = parser.parse("got through the first three already. The fifth sounds odd, what's it about?", after_a_list())
    assert p.intent == "item_info" and p.targets[0] == SHOWN[4]
