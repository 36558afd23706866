"""The ``catalog`` source: answer a topic search from videos already in the table.

Why: YouTube is unreachable offline (``make run``) and often from cloud IPs (bot checks, quota),
and then every on-demand scrape job failed although the table already held hundreds of real
videos. This source is the last link of the chain: it keeps the stored videos that are about the
topic by meaning (``miles_core.relevance``: the stored embedding's cosine with the topic's, at or
above the shipped threshold), most relevant first, so a job still succeeds and says ``source:
catalog``, and a topic nothing stored is about fails with that reason instead of collecting word
matches ("dog training" -> a Three Dog Night song). Encoding the topic needs the serving encoder:
a process that has one registers it (:func:`use_topic_encoder`: ``make run`` does); the scrape image
carries no model, so there the source falls back to ranking by shared words (:func:`match_score`), and
says so in the job's notes. It reads only by Query/GetItem (no Scan: the functions' IAM policy forbids
it), so it looks through the leaderboards it knows: the topic itself, the catalog topics whose rules its
words match, the scheduled niches, then the other catalog topics. It reads a bounded number of videos
(:data:`CATALOG_READ_BUDGET` GetItems, one Query per leaderboard it reaches), so one job costs the
same however full the table is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from miles_core.observation import Observation
from miles_core.relevance import TopicEncoder, is_relevant, relevance
from miles_core.scraping.base import NoVideosError, SearchQuery, SearchResult, SourceError
from miles_core.store import Cohort, MilesStore, ScrapedVideo, StoreError
from miles_core.topics import Topic, fold_text

SOURCE_NAME = "catalog"
LEADERBOARD_READ_LIMIT = 50
"""Rows read per leaderboard: enough to rank a topic's best matches, small enough for one request."""
CATALOG_READ_BUDGET = 150
"""Videos read (one GetItem each) per search, over every leaderboard: the job's bounded cost."""


@dataclass(frozen=True)
class TopicRule:
    """A catalog topic: the words (whole-word, in title or tags) and YouTube categories that put a video on it."""

    topic: Topic
    """Canonical as written (a test checks each against the topic rule)."""
    words: tuple[str, ...]
    categories: tuple[int, ...] = ()


TOPIC_RULES: tuple[TopicRule, ...] = (
    TopicRule(Topic("minecraft"), ("minecraft",)),
    TopicRule(Topic("roblox"), ("roblox",)),
    TopicRule(Topic("fortnite"), ("fortnite",)),
    TopicRule(Topic("gaming"), ("gaming", "gameplay", "gamer", "speedrun"), (20,)),
    TopicRule(Topic("football"), ("football", "soccer", "premier league", "champions league", "fifa", "goal", "goals")),
    TopicRule(Topic("basketball"), ("basketball", "nba")),
    TopicRule(Topic("sports"), ("sports", "highlights", "nfl", "ufc", "boxing"), (17,)),
    TopicRule(Topic("cooking"), ("cooking", "recipe", "recipes", "chef", "kitchen", "baking", "food", "cook")),
    TopicRule(Topic("makeup"), ("makeup", "beauty", "skincare", "lipstick", "grwm", "cosmetics")),
    TopicRule(Topic("fitness"), ("fitness", "workout", "workouts", "gym", "exercise", "training")),
    TopicRule(Topic("music"), ("music", "song", "official video", "lyrics", "cover", "album"), (10,)),
    TopicRule(Topic("comedy"), ("comedy", "funny", "prank", "sketch"), (23,)),
    TopicRule(Topic("pets"), ("cat", "cats", "dog", "dogs", "puppy", "kitten", "pet", "pets"), (15,)),
    TopicRule(Topic("tech"), ("tech", "iphone", "android", "gadget", "gadgets", "unboxing", "review"), (28,)),
    TopicRule(Topic("travel"), ("travel", "vlog", "trip", "tour"), (19,)),
    TopicRule(Topic("challenge"), ("challenge", "challenges")),
)
CATALOG_TOPICS: tuple[Topic, ...] = tuple(rule.topic for rule in TOPIC_RULES)


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) is not None


def topics_for(observation: Observation) -> tuple[Topic, ...]:
    """The catalog topics a video belongs to: a rule word in its title or tags, or its category."""
    text = fold_text(" ".join((observation.title, *observation.tags)))
    return tuple(
        rule.topic
        for rule in TOPIC_RULES
        if observation.category_id in rule.categories or any(_has_word(text, w) for w in rule.words)
    )


def _stem(word: str) -> str:
    """A crude plural fold ("recipes" -> "recipe"), so "home workouts" matches a "workout" tag."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _words(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"\w+", fold_text(text)) if len(w) > 1}


def match_score(topic: str, observation: Observation) -> float:
    """How well a video matches the topic: phrase and word hits, title > tags > description; 0 = no match."""
    phrase = fold_text(topic)
    query = _words(topic)
    if not query:
        return 0.0
    fields = ((observation.title, 3.0), (" ".join(observation.tags), 2.0), (observation.description, 1.0))
    score = 0.0
    for text, weight in fields:
        folded = fold_text(text)
        if _has_word(folded, phrase):
            score += 2 * weight
        score += weight * len(query & _words(folded)) / len(query)
    return score


_encoder_factory: list[Callable[[], TopicEncoder]] = []


def use_topic_encoder(factory: Callable[[], TopicEncoder] | None) -> None:
    """Register how this process loads the serving encoder (``None``: none), for catalog sources built after."""
    _encoder_factory[:] = [] if factory is None else [factory]


def topic_encoder() -> Callable[[], TopicEncoder] | None:
    """The registered encoder loader, if any."""
    return _encoder_factory[0] if _encoder_factory else None


class CatalogSource:
    """Searches the videos already stored (see the module docstring). ``store`` is built lazily."""

    name = SOURCE_NAME

    def __init__(
        self,
        store: Callable[[], MilesStore],
        *,
        topics: Sequence[Topic] = (),
        read_limit: int = LEADERBOARD_READ_LIMIT,
        read_budget: int = CATALOG_READ_BUDGET,
        encoder: Callable[[], TopicEncoder] | None = None,
    ) -> None:
        self._store_factory = store
        self._store: MilesStore | None = None
        self._topics = tuple(topics)
        self._read_limit = read_limit
        self._read_budget = read_budget
        self._encoder_factory = encoder
        self._encoder: TopicEncoder | None = None

    def _topic_vector(self, topic: str) -> Any:
        """The topic's embedding, or None where this process has no encoder (word matching then)."""
        if self._encoder_factory is None:
            return None
        if self._encoder is None:
            self._encoder = self._encoder_factory()
        return self._encoder.topic_embedding(topic)

    def _boards(self, topic: Topic) -> Iterable[Topic]:
        """The leaderboards to read, likeliest first: the budget may end before the last."""
        related = topics_for(Observation(title=topic))
        return dict.fromkeys((topic, *related, *self._topics, *CATALOG_TOPICS))

    def search(self, query: SearchQuery) -> SearchResult:
        """The stored videos matching the topic best (none for the fresh cohort: these are not new uploads).

        The duration cap is not applied: the catalog holds what earlier scrapes and the seed kept
        (trending videos of any length), and an answer from them beats none.
        """
        result = SearchResult(source=self.name)
        if query.cohort is Cohort.FRESH:  # re-labelling stored videos as fresh uploads would corrupt the cohort
            result.notes.append("the catalog holds no fresh uploads: the fresh cohort needs a YouTube source")
            return result
        if self._store is None:
            self._store = self._store_factory()
        store = self._store
        ranked: dict[str, tuple[float, ScrapedVideo]] = {}
        seen: set[str] = set()
        own_board = query.topic
        topic_vector = self._topic_vector(query.topic)
        try:
            for board in self._boards(query.topic):
                budget = self._read_budget - len(seen)
                if budget <= 0:
                    break
                for candidate in store.list_candidates(board, limit=min(self._read_limit, budget)).items:
                    if candidate.video_id in seen or len(seen) >= self._read_budget:
                        continue
                    seen.add(candidate.video_id)
                    record = store.get_video(candidate.video_id)
                    if record is None:
                        continue
                    obs = record.observation
                    if topic_vector is not None:
                        embedding = record.score.text_embedding if record.score is not None else None
                        (cosine,) = relevance(topic_vector, [embedding])
                        score = cosine if is_relevant(cosine) and cosine is not None else 0.0
                    else:  # on the topic's own leaderboard = an earlier search or the seed chose it
                        score = match_score(query.topic, obs) + (1.0 if board == own_board else 0.0)
                    if score > 0:
                        video = ScrapedVideo(obs, record.source, record.thumbnail_url, record.webpage_url)
                        ranked[candidate.video_id] = (score, video)
        except StoreError as error:
            raise SourceError(self.name, f"reading the table failed: {error}") from error
        best = sorted(ranked.values(), key=lambda pair: (-pair[0], -(pair[1].observation.view_count or 0)))
        result.videos = [video for _, video in best[: query.max_results]]
        if not result.videos:
            what = "is about" if topic_vector is not None else "matches"
            raise NoVideosError(self.name, f"no stored video {what} {query.topic!r}")
        how = "are about the topic" if topic_vector is not None else "share words with the topic (no encoder here)"
        result.notes.append(f"{len(ranked)} stored videos {how}; answered from the table, not YouTube")
        return result
