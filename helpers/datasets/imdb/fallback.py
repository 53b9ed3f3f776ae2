"""A small synthetic stand-in for the IMDB reviews, for machines with no internet.

The reviews are written by this module from the phrase pools in fallback_phrases.py: an
invented film, a plot line, opinions on a few aspects, asides that go against the verdict,
and a closing line, some split into paragraphs with ``<br /><br />`` as on IMDB. They are
NOT real reviews and results on them say nothing about the real dataset; they exist so
every lesson can run end to end offline, and a bag-of-words model learns them well
(though not perfectly: some reviews are mixed or mostly about the plot).

The corpus ships as ``data/fallback_reviews.tar.gz`` in the aclImdb layout
(``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt``, 300 reviews in each folder).
Regenerate it with ``python -m helpers.datasets.imdb build-fallback``; the output is the same
byte for byte on every run.
"""

from __future__ import annotations

import gzip
import io
import random
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path

from helpers.datasets.imdb import fallback_phrases as P
from helpers.datasets.imdb.corpus import Review

FALLBACK_ARCHIVE = Path(__file__).parent / "data" / "fallback_reviews.tar.gz"
REVIEWS_PER_FOLDER = 300
SEED = 20180521

_POS_RATINGS, _POS_WEIGHTS = [7, 8, 9, 10], [3, 3, 2, 2]
_NEG_RATINGS, _NEG_WEIGHTS = [1, 2, 3, 4], [2, 2, 3, 3]


class _Fields(dict):
    """Per-review values, plus pools drawn from on each use (distinct within a sentence)."""

    POOLS = {
        "good": P.GOOD,
        "bad": P.BAD,
        "mild_good": P.MILD_GOOD,
        "mild_bad": P.MILD_BAD,
        "aspect": P.ASPECTS,
    }

    def __init__(self, rng: random.Random, fixed: dict[str, object]) -> None:
        super().__init__(fixed)
        self.rng = rng
        self.used: dict[str, set[str]] = {}

    def __missing__(self, key: str) -> str:
        used = self.used.setdefault(key, set())
        # Earlier entries are drawn more often (weight 1/(rank+2)), a Zipf-like spread.
        choices = [(v, 1 / (rank + 2)) for rank, v in enumerate(self.POOLS[key]) if v not in used]
        value = self.rng.choices([v for v, _ in choices], [w for _, w in choices])[0]
        used.add(value)
        return value

    def fill(self, template: str) -> str:
        self.used.clear()
        return template.format_map(self)


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _name(rng: random.Random) -> str:
    return f"{rng.choice(P.FIRST_NAMES)} {rng.choice(P.LAST_NAMES)}"


def _review_text(rng: random.Random, positive: bool, rating: int) -> str:
    title, other = rng.sample(P.TITLES, 2)
    genre = rng.choice(P.GENRES)
    fixed = {
        "title": f"<i>{title}</i>" if rng.random() < 0.08 else title,
        "other": other,
        "genre": genre,
        "genres": _plural(genre),
        "year": rng.randint(1958, 2019),
        "minutes": rng.randint(84, 152),
        "director": _name(rng),
        "lead": _name(rng),
        "second": _name(rng),
        "role": rng.choice(P.ROLES),
        "setting": rng.choice(P.SETTINGS),
        "action": rng.choice(P.ACTIONS),
        "companion": rng.choice(P.COMPANIONS),
        "day": rng.choice(P.DAYS),
        "rating": rating,
    }
    fields = _Fields(rng, fixed)

    own_lines, other_lines = (P.GOOD_LINES, P.BAD_LINES) if positive else (P.BAD_LINES, P.GOOD_LINES)
    asides = P.BAD_ASIDES if positive else P.GOOD_ASIDES
    closings = P.GOOD_CLOSINGS if positive else P.BAD_CLOSINGS
    strong = rating in (1, 2, 9, 10)
    # About one review in eight argues both ways, as real mixed reviews do.
    mixed = rng.random() < 0.13

    intro = [rng.choice(P.OPENINGS), rng.choice(P.PLOTS)]
    if rng.random() < 0.5:
        intro.append(rng.choice(P.NEUTRAL))

    opinion = rng.sample(own_lines, rng.randint(2, 4) if strong else rng.randint(1, 3))
    if mixed:
        opinion = opinion[:1] + rng.sample(other_lines, rng.randint(1, 2))
    if rng.random() < (0.3 if strong else 0.7):
        opinion.append(rng.choice(asides))
    if rng.random() < 0.3:
        opinion.append(rng.choice(P.NEUTRAL))
    rng.shuffle(opinion)

    paragraphs = [intro, opinion]
    if rng.random() < 0.85:
        paragraphs.append([rng.choice(closings)])

    texts = [" ".join(fields.fill(t) for t in paragraph) for paragraph in paragraphs]
    text = ("<br /><br />" if rng.random() < 0.65 else " ").join(texts)
    text = re.sub(r"\b([Aa]) (?=[aeiouAEIOU])", r"\1n ", text)
    if positive and rng.random() < 0.15:
        text = text.replace(".", "!", 1)
    if rng.random() < 0.05:  # some people never touch the shift key
        text = text.lower()
    return text


def generate_reviews(per_folder: int = REVIEWS_PER_FOLDER, seed: int = SEED) -> list[Review]:
    """The synthetic reviews, deterministic for a given seed, sorted like read_reviews()."""
    rng = random.Random(seed)
    reviews = []
    for split in ("test", "train"):
        for label in (1, 0):
            ratings, weights = (_POS_RATINGS, _POS_WEIGHTS) if label else (_NEG_RATINGS, _NEG_WEIGHTS)
            for review_id in range(per_folder):
                rating = rng.choices(ratings, weights)[0]
                text = _review_text(rng, bool(label), rating)
                reviews.append(Review(split, label, review_id, rating, text))
    return reviews


def _members(reviews: list[Review]) -> Iterator[tuple[str, bytes]]:
    for r in reviews:
        folder = "pos" if r.label else "neg"
        yield f"aclImdb/{r.split}/{folder}/{r.id}_{r.rating}.txt", r.text.encode()


def write_archive(reviews: list[Review], path: Path) -> Path:
    """Write reviews as a .tar.gz in the aclImdb layout, with no timestamps or owners."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        path.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as archive,
    ):
        for name, data in sorted(_members(reviews)):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return path
