"""Recommendation test data (fixed-clock candidates, a fake scorer) and the fixtures its conftests register."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from miles_core.inference.predictor import Prediction, Predictor
from miles_core.observation import Observation
from miles_core.recommend import llm
from miles_core.recommend.patterns import Candidate, words
from miles_core.relevance import pack_embedding
from miles_core.secrets import clear_secret_cache
from miles_core.topics import normalize_topic

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
TOPIC = normalize_topic("home workouts")

TITLES = [
    ("No Gym? 5 Home Workout Moves That Actually Work 💪", ("home workout", "fitness"), 35, 17, 0.91),
    ("Home workout for beginners: 10 minute full body", ("home workout", "beginner"), 58, 17, 0.85),
    ("Why does this home workout burn so much fat?", ("fat loss",), 42, 18, 0.80),
    ("I did this 7 minute workout every day for 30 days 😱", ("challenge",), 50, 17, 0.77),
    ("Full body workout with NO equipment", ("no equipment", "home workout"), 28, 9, 0.70),
    ("The BEST ab workout you can do at home", ("abs",), 31, 20, 0.64),
    ("POV: you finally stick to your home workout", ("pov",), 19, 18, 0.52),
    ("3 mistakes ruining your full body workout", ("tips",), 45, 12, 0.41),
]


EMBEDDING_DIM = 384


def bag_of_words_embedding(text: str) -> np.ndarray:
    """A stand-in for the encoder where meaning is shared words (plural 's' folded): cosine = word overlap.

    Enough to test what the recommender does with relevance; the real encoder's relevance is tested
    against the labelled pairs (``tests/recommend/test_relevance.py``).
    """
    vector = np.zeros(EMBEDDING_DIM, dtype=np.float32)
    for word in words(text):
        vector[zlib.crc32(word.removesuffix("s").encode()) % EMBEDDING_DIM] += 1.0
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def stored_embedding(title: str, tags: Sequence[str] = ()) -> bytes:
    """What the stream scorer stores for a video (title and tags, as the encoder reads them)."""
    return pack_embedding(bag_of_words_embedding(" ".join((title, *tags))))


def make_candidates(now: datetime = NOW, age: timedelta = timedelta(days=2)) -> list[Candidate]:
    """Eight realistic candidates, all published ``age`` before ``now``."""
    return [
        Candidate(
            video_id=f"vid{i:02d}",
            title=title,
            tags=tags,
            duration_seconds=float(duration),
            published_at=(now - age).replace(hour=hour),
            viral_probability=probability,
            predicted_velocity_views_per_hour=1000.0 * probability,
            channel_id=f"chan{i % 3}",
            channel_title=f"Channel {i % 3}",
            category_id=17 if i % 4 else 26,
            view_count=1000 * (i + 1),
            observed_at=now - timedelta(hours=1),
            text_embedding=stored_embedding(title, tags),
        )
        for i, (title, tags, duration, hour, probability) in enumerate(TITLES)
    ]


@pytest.fixture
def candidates() -> list[Candidate]:
    return make_candidates()


BEST_WEEKDAY, BEST_HOUR = 1, 17
"""The fake model's best publish slot: Tuesday 17:00 UTC."""
SLOT_BONUS = 0.05


class FakeScorer:
    """Deterministic stand-in for the predictor, so ranking is checkable.

    Probability grows with title length, plus :data:`SLOT_BONUS` at Tuesday 17:00 UTC; ``explain`` gives the
    title +0.4, the timing the slot bonus and the category -0.2.
    """

    version = "fake-1"

    def __init__(self) -> None:
        self.seen: list[Observation] = []
        self.calls: list[tuple[int, bool]] = []

    @staticmethod
    def topic_embedding(topic: str) -> np.ndarray:
        return bag_of_words_embedding(topic)

    @staticmethod
    def slot_bonus(observation: Observation) -> float:
        when = observation.published_at
        return SLOT_BONUS if when is not None and (when.weekday(), when.hour) == (BEST_WEEKDAY, BEST_HOUR) else 0.0

    def predict(self, observations: Sequence[Observation], *, explain: bool = False) -> list[Prediction]:
        self.seen.extend(observations)
        self.calls.append((len(observations), explain))
        return [
            Prediction(
                viral_probability=min(len(o.title) / 100.0, 0.9) + self.slot_bonus(o),
                is_viral=len(o.title) >= 50,
                threshold=0.5,
                predicted_velocity_views_per_hour=float(len(o.title)),
                regime=o.regime,
                model_version=self.version,
                miles_score=min(float(len(o.title)), 100.0),
                contributions={"text": 0.4, "timing": self.slot_bonus(o), "category": -0.2} if explain else None,
            )
            for o in observations
        ]


@pytest.fixture
def fake_scorer() -> FakeScorer:
    return FakeScorer()


@pytest.fixture(scope="session")
def predictor(tiny_artifact: Path) -> Predictor:
    return Predictor(tiny_artifact, threads=1)


@pytest.fixture(autouse=True)
def _no_llm_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no LLM configured and no cached key/client."""
    for name in ("MILES_OPENAI_SECRET_ID", "MILES_OPENAI_MODEL", "MILES_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    clear_secret_cache()
    llm.clear_generator_cache()
    yield
    clear_secret_cache()
    llm.clear_generator_cache()
