"""The simulated user: a dataset user whose held-out test item is the film they are looking for.

Deterministic and offline. The user's messages depend only on the user and the seed, never on what a
system shows (except that a hit ends the session), so every system under test hears the same words.

Profile: the user's history without the test item, i.e. the training items plus the validation item:
the exact input the leave-one-out protocol gives a sequential model for the test target. The target
is never in the profile and never named; the user talks about it only through its attributes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from data.catalog import Catalog
from data.dataset import Dataset
from data.lookup import TitleLookup

MAX_TURNS = 5
N_FAVOURITES = 3
GOOD_RATING = 4  # a "favourite" is an item the user rated at least this

# How a person asks for a genre (MovieLens genre names -> words the agent's lexicon knows).
GENRE_PHRASES = {
    "Action": "an action movie",
    "Adventure": "an adventure",
    "Animation": "an animated film",
    "Children's": "a family film",
    "Comedy": "a comedy",
    "Crime": "a crime film",
    "Documentary": "a documentary",
    "Drama": "a drama",
    "Fantasy": "a fantasy film",
    "Film-Noir": "a film noir",
    "Horror": "a horror film",
    "Musical": "a musical",
    "Mystery": "a mystery",
    "Romance": "a romance",
    "Sci-Fi": "a sci-fi film",
    "Thriller": "a thriller",
    "War": "a war film",
    "Western": "a western",
}
REJECT = "None of these."  # understood as a refinement of the last list (agents/nlu/), not as a new request

SimilarityFn = Callable[[int, Sequence[int]], dict[int, float]]


@dataclass(frozen=True)
class UserScript:
    """Everything the simulated user will say, decided before the session starts."""

    user_id: int
    target: int
    profile: tuple[int, ...]  # chronological, target excluded
    favourites: tuple[int, ...]  # named in the opening
    opening: str
    follow_ups: tuple[str, ...]  # said one per turn after a miss, in order
    revealed: tuple[str, ...]  # the attribute each message reveals ("genre:Comedy", "decade:1990", "like:Heat")

    def message(self, turn: int) -> str:
        """What the user says on turn `turn` (1-based) when nothing has hit yet."""
        return self.opening if turn == 1 else self.follow_ups[turn - 2]


def _name(item_id: int, catalog: Catalog, lookup: TitleLookup) -> str:
    """The title as a person types it; the year only when the title alone is ambiguous."""
    it = catalog.get(item_id)
    return it.title if len(lookup.exact_ids(it.title)) == 1 else it.label


def _join(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def favourites(profile: Sequence[int], ratings: dict[int, float], n: int = N_FAVOURITES) -> list[int]:
    """The n most recent profile items rated GOOD_RATING or more (most recent items if too few), oldest first."""
    good = [i for i in profile if ratings.get(i, 0) >= GOOD_RATING]
    picked = good[-n:] if len(good) >= n else list(profile[-n:])
    return list(picked)


def make_script(
    user_id: int,
    profile: Sequence[int],
    target: int,
    ratings: dict[int, float],
    catalog: Catalog,
    lookup: TitleLookup,
    similarity: SimilarityFn,
    seed: int,
    max_turns: int = MAX_TURNS,
) -> UserScript:
    """Opening: a few recent favourites plus one of the target's genres. Each later message rejects the
    list and reveals one more attribute: the target's decade, another of its genres, then "something like
    <the profile item closest to the target>" (cosine similarity of the item vectors)."""
    if target in profile:
        raise ValueError(f"user {user_id}: the target {target} is in the profile; the simulator must hold it out")
    rng = random.Random(f"{seed}:{user_id}")
    item = catalog.get(target)
    genres = [g for g in item.genres if g in GENRE_PHRASES]
    rng.shuffle(genres)
    favs = favourites(profile, ratings)
    fav_text = "I loved " + _join([_name(i, catalog, lookup) for i in favs]) + "." if favs else ""
    if genres:
        opening = f"{fav_text} I'm in the mood for {GENRE_PHRASES[genres[0]]}.".strip()
        revealed = [f"genre:{genres[0]}"]
    else:
        opening = f"{fav_text} What should I watch next?".strip()
        revealed = ["favourites"]
    reveals: list[tuple[str, str]] = []
    if item.year:
        decade = item.year // 10 * 10
        reveals.append((f"decade:{decade}", f"{REJECT} Something from the {decade}s."))
    for g in genres[1:2]:
        reveals.append((f"genre:{g}", f"{REJECT} Something that is also {GENRE_PHRASES[g]}."))
    # never a film with the target's own title (ML-100K lists a few films twice under two ids)
    others = [i for i in profile if catalog.get(i).title != item.title]
    if others:
        sims = similarity(target, others)
        closest = max(sims.items(), key=lambda kv: (kv[1], -kv[0]))[0]
        reveals.append((f"like:{catalog.get(closest).title}", f"{REJECT} Something like {_name(closest, catalog, lookup)}."))
    while len(reveals) < max_turns - 1:
        reveals.append(("nothing new", f"{REJECT} Show me something else."))
    reveals = reveals[: max_turns - 1]
    revealed += [r for r, _ in reveals]
    return UserScript(user_id, target, tuple(profile), tuple(favs), opening, tuple(m for _, m in reveals), tuple(revealed))


def sample_users(dataset: Dataset, n: int, seed: int) -> list[int]:
    """n test users, seeded; the same users for every system in a run."""
    users = sorted(dataset.targets("test"))
    rng = random.Random(seed)
    return sorted(rng.sample(users, min(n, len(users))))


def build_scripts(
    dataset: Dataset, lookup: TitleLookup, similarity: SimilarityFn, users: Sequence[int], seed: int, max_turns: int = MAX_TURNS
) -> list[UserScript]:
    """One script per user: target = the held-out test item, profile = train + validation items."""
    targets = dataset.targets("test")
    profiles = dataset.sequences("test")
    inter = dataset.interactions
    out = []
    for u in users:
        rows = inter[inter["user_id"] == u]
        ratings = dict(zip(rows["item_id"].astype(int), rows["rating"].astype(float), strict=True))
        profile = [int(i) for i in profiles[u]]
        out.append(make_script(u, profile, int(targets[u]), ratings, dataset.catalog, lookup, similarity, seed, max_turns))
    return out
