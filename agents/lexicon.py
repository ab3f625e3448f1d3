"""Words people use for genres, moods, decades and positions, mapped to catalog terms.

Pure data and small pure functions; the parser in agents/nlu/ combines them.
"""

from __future__ import annotations

import re

# word or phrase -> genres (MovieLens names). Multi-word phrases are matched before single words.
GENRE_WORDS: dict[str, tuple[str, ...]] = {
    "action": ("Action",),
    "explosions": ("Action",),
    "martial arts": ("Action",),
    "kung fu": ("Action",),
    "adventure": ("Adventure",),
    "adventures": ("Adventure",),
    "adventurous": ("Adventure",),
    "quest": ("Adventure",),
    "animation": ("Animation",),
    "animated": ("Animation",),
    "cartoon": ("Animation",),
    "cartoons": ("Animation",),
    "anime": ("Animation",),
    "pixar": ("Animation",),
    "disney": ("Animation", "Children's"),
    "kids": ("Children's",),
    "children": ("Children's",),
    "children's": ("Children's",),
    "childrens": ("Children's",),
    "family": ("Children's",),
    "family-friendly": ("Children's",),
    "comedy": ("Comedy",),
    "comedies": ("Comedy",),
    "funny": ("Comedy",),
    "hilarious": ("Comedy",),
    "comic": ("Comedy",),
    "humor": ("Comedy",),
    "humour": ("Comedy",),
    "laugh": ("Comedy",),
    "laughs": ("Comedy",),
    "crime": ("Crime",),
    "heist": ("Crime",),
    "gangster": ("Crime",),
    "gangsters": ("Crime",),
    "mafia": ("Crime",),
    "mob": ("Crime",),
    "detective": ("Crime", "Mystery"),
    "documentary": ("Documentary",),
    "documentaries": ("Documentary",),
    "docs": ("Documentary",),
    "drama": ("Drama",),
    "dramas": ("Drama",),
    "dramatic": ("Drama",),
    "tearjerker": ("Drama",),
    "on the edge of my seat": ("Thriller",),
    "keep me on the edge of my seat": ("Thriller",),
    "keeps me on the edge of my seat": ("Thriller",),
    "edge of my seat": ("Thriller",),
    "edge of your seat": ("Thriller",),
    "edge-of-your-seat": ("Thriller",),
    "tearjerkers": ("Drama",),
    "tear-jerker": ("Drama",),
    "weepy": ("Drama",),
    "weepie": ("Drama",),
    "heartbreaking": ("Drama",),
    "fantasy": ("Fantasy",),
    "magic": ("Fantasy",),
    "magical": ("Fantasy",),
    "fairy tale": ("Fantasy",),
    "noir": ("Film-Noir",),
    "film noir": ("Film-Noir",),
    "film-noir": ("Film-Noir",),
    "horror": ("Horror",),
    "scary": ("Horror",),
    "scarier": ("Horror",),
    "creepier": ("Horror",),
    "spookier": ("Horror",),
    "creepy": ("Horror",),
    "spooky": ("Horror",),
    "frightening": ("Horror",),
    "terrifying": ("Horror",),
    "slasher": ("Horror",),
    "zombie": ("Horror",),
    "zombies": ("Horror",),
    "gore": ("Horror",),
    "musical": ("Musical",),
    "musicals": ("Musical",),
    "singing": ("Musical",),
    "mystery": ("Mystery",),
    "mysteries": ("Mystery",),
    "whodunit": ("Mystery",),
    "romance": ("Romance",),
    "romantic": ("Romance",),
    "love story": ("Romance",),
    "date night": ("Romance",),
    "romcom": ("Romance", "Comedy"),
    "rom-com": ("Romance", "Comedy"),
    "romantic comedy": ("Romance", "Comedy"),
    "sci-fi": ("Sci-Fi",),
    "scifi": ("Sci-Fi",),
    "sci fi": ("Sci-Fi",),
    "science fiction": ("Sci-Fi",),
    "science-fiction": ("Sci-Fi",),
    "space": ("Sci-Fi",),
    "futuristic": ("Sci-Fi",),
    "robots": ("Sci-Fi",),
    "robot": ("Sci-Fi",),
    "thriller": ("Thriller",),
    "thrillers": ("Thriller",),
    "suspense": ("Thriller",),
    "suspenseful": ("Thriller",),
    "tense": ("Thriller",),
    "war": ("War",),
    "wartime": ("War",),
    "soldiers": ("War",),
    "military": ("War",),
    "western": ("Western",),
    "westerns": ("Western",),
    "cowboy": ("Western",),
    "cowboys": ("Western",),
    # a few other languages, so non-English requests are not ignored
    "comédie": ("Comedy",),
    "comedie": ("Comedy",),
    "comedia": ("Comedy",),
    "komödie": ("Comedy",),
    "commedia": ("Comedy",),
    "horreur": ("Horror",),
    "terror": ("Horror",),
    "drame": ("Drama",),
    "romantique": ("Romance",),
    "romántica": ("Romance",),
    "romantica": ("Romance",),
    "guerre": ("War",),
    "guerra": ("War",),
    "krieg": ("War",),
    "policier": ("Crime",),
    "ciencia ficción": ("Sci-Fi",),
    "ciencia ficcion": ("Sci-Fi",),
    "dessin animé": ("Animation",),
    "kriegsfilm": ("War",),
    "horrorfilm": ("Horror",),
    "liebesfilm": ("Romance",),
    "actionfilm": ("Action",),
    "zeichentrickfilm": ("Animation",),
    "gruselfilm": ("Horror",),
    "science-fiction-film": ("Sci-Fi",),
    "western-film": ("Western",),
    "animación": ("Animation",),
    "animacion": ("Animation",),
    "aventure": ("Adventure",),
    "aventura": ("Adventure",),
}

# Genres that "both" words ask for together (romcom = Romance AND Comedy).
ALL_OF = {"romcom", "rom-com", "romantic comedy"}

# Moods: (genres to prefer, genres to avoid). A genre the message names outranks both (agents/nlu/constraints.py).
MOODS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "lighter": (("Comedy", "Animation", "Musical", "Children's", "Romance"), ("Horror", "War", "Film-Noir")),
    "light": (("Comedy", "Animation", "Musical", "Children's", "Romance"), ("Horror", "War", "Film-Noir")),
    "feel-good": (("Comedy", "Musical", "Romance", "Children's"), ("Horror", "War", "Film-Noir", "Crime")),
    "feel good": (("Comedy", "Musical", "Romance", "Children's"), ("Horror", "War", "Film-Noir", "Crime")),
    "uplifting": (("Comedy", "Musical", "Romance", "Children's"), ("Horror", "War", "Film-Noir")),
    "cheerful": (("Comedy", "Musical", "Animation"), ("Horror", "War", "Film-Noir")),
    "darker": (("Thriller", "Crime", "Film-Noir", "Horror", "War"), ("Children's", "Musical", "Animation")),
    "dark": (("Thriller", "Crime", "Film-Noir", "Horror", "War"), ("Children's", "Musical", "Animation")),
    "grim": (("Thriller", "Crime", "Film-Noir", "War"), ("Children's", "Musical", "Animation")),
    "cosy": (("Comedy", "Romance", "Children's", "Animation", "Musical"), ("Horror", "War", "Film-Noir")),
    "cozy": (("Comedy", "Romance", "Children's", "Animation", "Musical"), ("Horror", "War", "Film-Noir")),
}

# "violent" names a set of genres; it is almost always negated ("nothing violent", "less violent").
VIOLENT = ("Action", "Horror", "War", "Crime")
VIOLENCE_WORDS = ("violent", "violence", "gory", "bloody", "brutal")

NEGATORS = (
    "no",
    "not",
    "nothing",
    "without",
    "avoid",
    "less",
    "fewer",
    "except",
    "never",
    "none",
    "skip",
    "hate",
    "dislike",
    "pas",
    "sin",
    "sans",
    "kein",
    "keine",
)

ORDINALS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "sixth": 6,
    "6th": 6,
    "seventh": 7,
    "7th": 7,
    "eighth": 8,
    "8th": 8,
    "ninth": 9,
    "9th": 9,
    "tenth": 10,
    "10th": 10,
    "last": -1,
}
_ORDINAL_RE = re.compile(
    r"\b(?:the\s+)?(" + "|".join(ORDINALS) + r")\b(?:\s+(?:one|movie|film|item|pick|suggestion))?"
    r"|(?:#|\bnumber\s+|\bno\.\s*|\bitem\s+)(\d{1,2})\b",
    re.I,
)

_DECADE_WORDS = {
    "twenties": 1920,
    "thirties": 1930,
    "forties": 1940,
    "fifties": 1950,
    "sixties": 1960,
    "seventies": 1970,
    "eighties": 1980,
    "nineties": 1990,
}
_DECADE_RE = re.compile(r"\b(?:(19|20)?(\d)0'?s)\b|\b(" + "|".join(_DECADE_WORDS) + r")\b|\b(?:ann[ée]es|a[ñn]os|anni)\s+(?:19)?(\d)0\b", re.I)
_BETWEEN_RE = re.compile(
    r"\b(?:between|from)\s+((?:18|19|20)\d\d)\s*(?:and|to|-|until)\s*((?:18|19|20)\d\d)\b|\b((?:18|19|20)\d\d)\s*-\s*((?:18|19|20)\d\d)\b", re.I
)
# Words that put a year or decade on one side: "before 1980", "after the 80s", "since the nineties".
_BEFORE_WORDS = r"before|older than|earlier than|pre|prior to|until"
_AFTER_WORDS = r"after|newer than|later than|post|since"
_BEFORE_RE = re.compile(rf"\b(?:{_BEFORE_WORDS})\s*-?\s*((?:18|19|20)\d\d)\b", re.I)
_AFTER_RE = re.compile(rf"\b(?:{_AFTER_WORDS}|from)\s*-?\s*((?:18|19|20)\d\d)\b", re.I)
# the side word just before a decade ("before the 80s"); "from the 80s" is the decade itself
_SIDE_OF_DECADE_RE = re.compile(rf"\b(?:({_BEFORE_WORDS})|(since)|({_AFTER_WORDS}))\s*-?\s*(?:the\s+)?$", re.I)
_SIDE_WORD_RE = re.compile(rf"\b(?:{_BEFORE_WORDS}|{_AFTER_WORDS})\s*-?\s*(?:the\s+)?(?=(?:{_DECADE_RE.pattern}))", re.I)


_TIME_AFTER_RE = re.compile(
    r"\s*(?:\d+|a|few|couple(?:\s+of)?|two|three|four|five|ten|several)?\s*(?:years?|decades?|months?|weeks?|days?|nights?|times?|century)\b",
    re.I,
)
_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "2": 2, "3": 3, "4": 4, "5": 5}
# "the top two", "the last 3", "the first three": a run of the list, not one film
_RUN_RE = re.compile(
    r"\b(?:the\s+)?(first|top|last|bottom)\s+(" + "|".join(_COUNTS) + r")\b(?!\s*(?:years?|hours?|minutes?|mins?|times?|stars?))", re.I
)


def find_ordinals(text: str, n_shown: int | None = None) -> list[int]:
    """Positions people point at: 'the second one' -> 2, '#3' -> 3, 'the last one' -> -1; with n_shown (the length of
    the list on the table), 'the top two' -> 1, 2 and 'the last two' -> n_shown - 1, n_shown."""
    out: list[int] = []
    runs = list(_RUN_RE.finditer(text)) if n_shown else []
    for m in runs:
        count = min(_COUNTS[m.group(2).lower()], n_shown)
        out += list(range(1, count + 1)) if m.group(1).lower() in ("first", "top") else list(range(n_shown - count + 1, n_shown + 1))
    covered = [r.span() for r in runs]
    for m in _ORDINAL_RE.finditer(text):
        if any(a <= m.start() < b for a, b in covered) or _TIME_AFTER_RE.match(text, m.end()):
            continue  # "the last 10 years", "last month", "the first few days": a time, not a film of the list
        out.append(ORDINALS[m.group(1).lower()] if m.group(1) else int(m.group(2)))
    return list(dict.fromkeys(out))


# "in my early 20s", "their thirties": a person's age, not a decade of films
_AGE_RE = re.compile(
    r"\b(?:my|your|his|her|their|our)\s+(?:(?:early|mid|late)[\s-]+)?(?:[1-9]0'?s|twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties)\b",
    re.I,
)


def strip_year_phrases(text: str) -> str:
    """The text without its year expressions ("before 1970", "from the 80s", "the nineties"), so the
    words that only carried a year ("before", "since", "nineties") do not reach the wish."""
    for rx in (_AGE_RE, _BETWEEN_RE, _BEFORE_RE, _AFTER_RE, _SIDE_WORD_RE, _DECADE_RE):
        text = rx.sub(" ", text)
    return text


def find_year_range(text: str, latest: int | None = None) -> tuple[int | None, int | None] | None:
    """Decades and explicit ranges: 'the 70s' -> (1970, 1979), 'before 1980' -> (None, 1979),
    'before the 80s' -> (None, 1979), 'since the 80s' -> (1980, None), 'after the 80s' -> (1990, None).
    An age ("in my early 20s") is no decade. latest: the newest year the catalog holds; a decade written without
    its century ("the 20s") that would start after it is read a century earlier (the 1920s)."""
    text = _AGE_RE.sub(" ", text)
    m = _BETWEEN_RE.search(text)
    if m:
        a, b = (int(m.group(1)), int(m.group(2))) if m.group(1) else (int(m.group(3)), int(m.group(4)))
        return (min(a, b), max(a, b))
    m = _BEFORE_RE.search(text)
    if m:
        return (None, int(m.group(1)) - 1)
    m = _AFTER_RE.search(text)
    if m:
        word = m.group(0).split()[0].lower()
        return (int(m.group(1)) + (0 if word in ("since", "from") else 1), None)
    m = _DECADE_RE.search(text)
    if m:
        start = _decade_start(m, latest)
        side = _SIDE_OF_DECADE_RE.search(text[: m.start()])
        if side and side.group(1):
            return (None, start - 1)
        if side and side.group(2):
            return (start, None)
        if side:
            return (start + 10, None)
        # "the 60s, 70s and 80s": a list of decades spans them
        starts = [_decade_start(d, latest) for d in _DECADE_RE.finditer(text)]
        return (min(starts), max(starts) + 9)
    return None


def _decade_start(m: re.Match, latest: int | None = None) -> int:
    """The first year of a _DECADE_RE match: 'the 80s' -> 1980, 'nineties' -> 1990, '2010s' -> 2010, 'the 20s' ->
    2020, or 1920 when `latest` (the catalog's newest year) comes before 2020."""
    if m.group(3):
        return _DECADE_WORDS[m.group(3).lower()]
    if m.group(4):
        return 1900 + int(m.group(4)) * 10
    if m.group(1):
        return int(m.group(1)) * 100 + int(m.group(2)) * 10
    start = (2000 if m.group(2) in "012" else 1900) + int(m.group(2)) * 10
    return start - 100 if latest is not None and start > latest else start


# Words of chat that carry no wish: pronouns, auxiliaries, hedges, reactions, and the contractions people type with or
# without the apostrophe. "I can't stand westerns, what's a good war film" has genres and no wish; these words alone
# must never reach the retriever as one ("can't what's").
CHAT_WORDS = frozenset(
    """
    i me my mine myself you your yours we us our they them their he him his she her it its itself
    is are was were be been being am do does did doing done have has had having get gets got getting go going gone
    will would shall should can could may might must gonna wanna gotta
    about above after again all also although always any anyway anyways around as because before being both
    but by each either enough even ever every few for from further here how however if into just kind kinda least
    less lot lots many maybe more most much my neither never next now of off often once only or other otherwise
    own perhaps please pretty probably quite rather really same since so some somehow sometimes still such than
    that then there these they thing things this those though through thus together too under until up upon very
    well what whatever when where whether which while who whom whose why yet
    think thought know knew guess suppose mean means say said tell told sure ok okay alright yes yeah yea yep yup
    nope no not hmm hm um uh oh ah wow lol lmao haha hahaha omg btw idk tbh imo like liked likes love loved loves
    enjoy enjoyed enjoys hope hoping sounds sound seems seem looks look looking try trying tried check checking
    checked heard hear watch watched watching seen saw see interested interesting cool awesome nice great good fun
    thanks thank thx ty hi hello hey bye goodbye glad happy help helping helpful find finding recommend recommended
    recommending recommendation recommendations suggest suggested suggestion suggestions idea ideas
    one ones someone something anything everything nothing anyone everyone else another others out over back away stand bear
    im ive id ill youre youve theyre thats whats hows dont doesnt didnt cant couldnt wont wouldnt shouldnt isnt arent
    wasnt werent havent hasnt hadnt
    ask asks asked asking sorry apologies oops welcome
    bit bits lots actually basically literally honestly seriously definitely totally especially personally
    prefer prefers preferred mention mentioned thinking fan fans big huge elsewhere right recently lately stuff
    already twice thrice yesterday ago nah naw meh
    """.split()
)

# "like 5 times", "about 2 hours", "3 stars", "a 10 year old": a number with its unit is a quantity, neither a title
# to look up nor words to search for
QUANTITY_RE = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?\s*-?\s*(?:x|%|times?|hours?|hrs?|minutes?|mins?|days?|weeks?|months?|years?|yrs?|stars?|out of)(?![\w])"
    r"(?:\s*-?\s*olds?)?",
    re.I,
)

# Who will watch ("my husband likes war films", "for our kids"): a person named after a possessive is the audience,
# not what the film is about, so neither the noun nor the possessive goes to the search ("a film about a widow and
# her gardener" keeps both: "her gardener" is the film's, "our gardener" would be a viewer).
AUDIENCE_RE = re.compile(
    r"\b(?:my|our|me and my|me and our)\s+(?:(?:little|older|younger|teenage|teen|\d+\s*-?\s*(?:year|yr)s?\s*-?\s*olds?)\s+)?"
    r"(?:husband|hubby|wife|partner|spouse|boyfriend|girlfriend|bf|gf|fianc[eé]e?|date|kids?|children|child|son|sons|daughters?"
    r"|family|friends?|buddies|mates?|roommates?|parents|mom|mum|mother|dad|father|grandparents|grandma|grandpa|grandkids"
    r"|brothers?|sisters?|siblings|niece|nephew|nieces|nephews|cousins?|class|students|guests|in-laws|mother-in-law)(?:'s)?\b"
    r"|\b(?:the\s+)?whole\s+(?:family|gang|crew|group|household)\b",
    re.I,
)

# Where and how a person will watch ("something I can rent or stream, already on DVD"): availability the catalog
# does not record, so these words describe no film and would only send the retriever after titles that contain them.
WATCHING_WORDS = frozenset(
    """
    dvd dvds blu-ray bluray netflix hulu redbox streaming stream streamed rent rental renting buy buying bought
    download theater theaters theatre theatres preferably already available
    """.split()
)

# Chat idioms whose words are no topic: "right up my alley", "not my cup of tea", "I'm open to suggestions".
CHAT_IDIOM_RE = re.compile(
    r"\b(?:(?:more|right up|just|not (?:really )?)\s+)?my\s+(?:alley|thing|style|cup of tea|jam)\b"
    r"|\bopen\s+to\b|\bup\s+for\s+(?:anything|whatever)\b|\bin\s+the\s+mood\s+for\b"
    r"|\ba\s+(?:little|tad)\b(?!\s+(?:one|ones|kids?|boys?|girls?|brothers?|sisters?))"  # a hedge ("a little slow"), not "a little girl"
    # when something happened ("last time", "all the time", "in no time"), not what the film is on
    r"|\b(?:each|this|that|next|last|first|second|the\s+whole|all\s+the|most\s+of\s+the|some|any|free|spare|in\s+no)\s+time\b",
    re.I,
)
