"""Seed the local stack's table with real videos, so ``make run`` shows the product, not an empty store.

The benchmark shipped in the repository (``infra/data/benchmark/miles_benchmark_dev.csv.gz``) holds
real trending videos, each observed twice about a day apart (t0 and the ``next_*`` columns), so
each seeded video gets both snapshots and a real velocity. Everything goes through the store's own
write path (``upsert_video``, ``append_snapshot``, topic membership via the upsert), the path a
scrape job takes, so the stream poller scores them like any scraped video.

Which videos: per catalog topic (``miles_core.scraping.catalog``), up to :data:`PER_TOPIC` of the
benchmark videos most relevant to it by meaning (``miles_core.relevance``: the serving encoder's cosine,
at or above the shipped threshold), listed in :data:`SEED_LIST`. Encoding all 5,578 benchmark texts
takes minutes, so the list is computed once by ``python -m infra.localstack.catalog`` (re-runnable, the
same model gives the same list) and committed; a video joins exactly the topics it was chosen for, so
a topic's leaderboard holds only videos about it. Why not all 5,578: moto's DynamoDB
is slow on a busy 2-core box (about 12 conditional writes a second; a video takes 4-8 writes,
and the stream scorer's transactional score write takes 0.3-1.5 s per video), so all rows would
take hours to seed and score; this subset is seeded in about 20 s and scored in about a minute.
The seed runs in a background thread, topic by topic in turns, as two scrapes a day apart: day one
(t0) is written, the queue and stream workers start (so the scorer does not compete with the seed's
writes; scrape jobs wait in the queue meanwhile), and once the scorer has scored day one the next day
is written, so its scores settle day one's and ``GET /model/accuracy`` answers with real pairs. The
catalog is *ready* once the scorer has scored every seeded video's next day (the score carries the
embedding relevance needs). ``make run`` prints its banner only then.

Idempotent: run ids are fixed, snapshots are put-if-absent and the upsert only moves stats forward,
so seeding the same table again adds no item.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from miles_core.dataset import iter_csv_rows, row_to_next_observation, row_to_observation
from miles_core.observation import Observation
from miles_core.relevance import RELEVANCE_THRESHOLD, pack_embedding, relevance
from miles_core.scraping.catalog import CATALOG_TOPICS
from miles_core.store import MilesStore, ScrapedVideo, Snapshot, UpsertOutcome
from miles_core.topics import Topic, normalize_topic

logger = logging.getLogger(__name__)

BENCHMARK = Path(__file__).resolve().parents[1] / "data" / "benchmark" / "miles_benchmark_dev.csv.gz"
SEED_LIST = BENCHMARK.with_name("catalog_seed.json")
"""Per catalog topic, the benchmark videos seeded for it, with relevance (``python -m infra.localstack.catalog``)."""
PER_TOPIC = 8
SOURCE = "benchmark"
T0_RUN, NEXT_RUN = "catalog-seed-t0", "catalog-seed-next"


@dataclass(frozen=True)
class SeedVideo:
    """One benchmark row: the video at t0, the same video a day later, and its catalog topics."""

    first: Observation
    latest: Observation
    topics: tuple[Topic, ...]
    split: str


@dataclass
class SeedCounts:
    videos: int = 0
    new_snapshots: int = 0


def _next_day(row: dict[str, str]) -> Observation | None:
    """The ``next_*`` snapshot as an observation of the same video (None when the row lacks it)."""
    try:
        return row_to_next_observation(row)
    except (KeyError, ValueError):
        return None


def read_seed_videos(path: Path = BENCHMARK) -> Iterator[SeedVideo]:
    """Every usable benchmark row with both snapshots (bad rows are skipped, as training does); no topics yet."""
    seen: set[str] = set()
    for row in iter_csv_rows(path):
        try:
            first = row_to_observation(row)
        except ValueError:
            continue
        latest = _next_day(row)
        if latest is None or first.view_count is None or latest.view_count is None or first.video_id in seen:
            continue
        seen.add(str(first.video_id))
        yield SeedVideo(first, latest, (), row.get("split", ""))


TopicChoice = dict[Topic, list[tuple[str, float]]]
"""Per topic, (video id, relevance) of the videos chosen for it, most relevant first."""


def choose(
    videos: Sequence[SeedVideo],
    embeddings: Sequence[bytes],
    topic_embedding: Callable[[str], np.ndarray],
    topics: Sequence[Topic] = CATALOG_TOPICS,
    per_topic: int = PER_TOPIC,
) -> TopicChoice:
    """Per topic, up to ``per_topic`` of ``videos`` most relevant to it (only those at or above the threshold)."""
    chosen: TopicChoice = {}
    for topic in topics:
        scores = relevance(topic_embedding(topic), embeddings)
        ranked = sorted(
            ((score, str(video.first.video_id)) for video, score in zip(videos, scores, strict=True) if score),
            key=lambda pair: (-pair[0], pair[1]),
        )
        chosen[topic] = [(video_id, score) for score, video_id in ranked[:per_topic] if score >= RELEVANCE_THRESHOLD]
    return chosen


def load_choice(path: Path = SEED_LIST) -> TopicChoice:
    document = json.loads(path.read_text(encoding="utf-8"))
    topics = document["topics"].items()
    return {normalize_topic(topic): [(str(v), float(s)) for v, s in pairs] for topic, pairs in topics}


def select(videos: Iterable[SeedVideo], choice: TopicChoice) -> list[SeedVideo]:
    """The chosen videos, each with the topics it was chosen for, topic by topic in turns (stable order).

    In turns, so the first videos of every topic are written first.
    """
    by_id = {str(video.first.video_id): video for video in videos}
    topics_of: dict[str, list[Topic]] = {}
    for topic, pairs in choice.items():
        for video_id, _ in pairs:
            topics_of.setdefault(video_id, []).append(topic)
    ordered: dict[str, SeedVideo] = {}
    for turn in range(max((len(pairs) for pairs in choice.values()), default=0)):
        for pairs in choice.values():
            if turn < len(pairs) and pairs[turn][0] in by_id:
                video_id = pairs[turn][0]
                video = by_id[video_id]
                ordered.setdefault(
                    video_id, SeedVideo(video.first, video.latest, tuple(topics_of[video_id]), video.split)
                )
    return list(ordered.values())


Between = Callable[[list[SeedVideo]], None]
"""Called between the two days: ``make run`` starts the workers and waits for day one's scores."""


def _write_day(
    store: MilesStore, videos: Iterable[SeedVideo], run_id: str, stop: threading.Event | None, counts: SeedCounts
) -> list[SeedVideo]:
    """Write one day of each video as that day's scrape would: its snapshot, its stats under each of its topics."""
    written = []
    for video in videos:
        if stop is not None and stop.is_set():
            break
        scraped = ScrapedVideo(video.first if run_id == T0_RUN else video.latest, SOURCE)
        stats = scraped.stats
        snapshot = Snapshot(scraped.video_id, run_id, stats.observed_at, stats, topic=video.topics[0], source=SOURCE)
        counts.new_snapshots += int(store.append_snapshot(snapshot))
        for topic in video.topics:
            if store.upsert_video(scraped, topic=topic, run_id=run_id) is not UpsertOutcome.UPDATED_OFF_TOPIC:
                store.add_topic_membership(topic, scraped)
        written.append(video)
    return written


def seed(
    store: MilesStore, videos: Iterable[SeedVideo], stop: threading.Event | None = None, between: Between | None = None
) -> SeedCounts:
    """Write every video at t0, then (after ``between``) at its next-day snapshot: two scrapes a day apart.

    Two scrapes rather than one write of both snapshots, so the stream scorer scores day one and
    day two's stats settle those scores: ``GET /model/accuracy`` has real pairs to measure.
    Idempotent: on a table already seeded the t0 writes are stale (the stored stats are newer) and
    the next-day writes repeat what is there.
    """
    counts = SeedCounts()
    first_day = _write_day(store, videos, T0_RUN, stop, counts)
    counts.videos = len(first_day)
    if between is not None:
        between(first_day)
    _write_day(store, first_day, NEXT_RUN, stop, counts)
    return counts


def seed_catalog(
    store: MilesStore,
    path: Path = BENCHMARK,
    choice: TopicChoice | None = None,
    stop: threading.Event | None = None,
    between: Between | None = None,
) -> list[SeedVideo]:
    """Select (the committed :data:`SEED_LIST` unless ``choice`` is given) and seed, logging what was added."""
    videos = select(read_seed_videos(path), load_choice() if choice is None else choice)
    counts = seed(store, videos, stop, between)
    logger.info(
        "catalog: %d benchmark videos seeded (%d new snapshots) from %s",
        counts.videos,
        counts.new_snapshots,
        path.name,
    )
    return videos


SCORE_WAIT_SECONDS = 900.0
"""How long readiness waits for the scorer (a loaded 2-core machine scores the ~100 videos in minutes)."""


class CatalogState(StrEnum):
    """Where the local catalog is: what ``GET /health`` and the banner say."""

    OFF = "off"
    """``--no-catalog``: nothing is seeded."""
    SEEDING = "seeding"
    SCORING = "scoring"
    READY = "ready"
    """Every seeded video is scored: recommendations stand on the whole catalog."""
    PARTIAL = "partial"
    """The scorer did not score every seeded video in time: recommendations stand on the scored ones."""
    FAILED = "failed"
    """Seeding failed: nothing trustworthy to recommend from (recommendations keep answering 503)."""

    @property
    def serves_ideas(self) -> bool:
        """Whether recommendations answer in this state (the gateway's gate, and ``make load``'s wait, open on it)."""
        return self in (CatalogState.OFF, CatalogState.READY, CatalogState.PARTIAL)


@dataclass
class CatalogStatus:
    """The local catalog's progress, shared by the seeding thread, the gateway's gate and ``/health``.

    ``settled`` is set once the state stops moving (ready, partial or failed): the gate opens then, except
    on failure, so ideas are only ever served from a seeded store.
    """

    state: CatalogState = CatalogState.SEEDING
    topics: int = 0
    videos: int = 0
    scored: int = 0
    error: str | None = None
    settled: threading.Event = field(default_factory=threading.Event)

    @property
    def serves_ideas(self) -> bool:
        return self.state.serves_ideas

    def settle(self, state: CatalogState, error: str | None = None) -> None:
        self.state, self.error = state, error
        self.settled.set()

    def as_dict(self) -> dict[str, Any]:
        """The ``catalog`` object of ``GET /health`` (``miles_core.api.schemas.predict.LocalCatalog``)."""
        return {
            "ready": self.state is CatalogState.READY,
            "state": self.state.value,
            "topics": self.topics,
            "videos": self.videos,
            "scored": self.scored,
            "error": self.error,
        }


def wait_until_scored(
    store: MilesStore,
    video_ids: Iterable[str],
    stop: threading.Event,
    timeout: float = SCORE_WAIT_SECONDS,
    progress: Callable[[int], None] = lambda _: None,
) -> bool:
    """True once every video has a current score (its embedding with it), False on stop or timeout.

    ``progress`` hears how many of them are scored, after each look.
    """
    wanted = set(video_ids)
    pending = set(wanted)
    deadline = time.monotonic() + timeout
    while pending and not stop.is_set() and time.monotonic() < deadline:
        for video_id in sorted(pending):
            record = store.get_video(video_id)
            if record is not None and record.score_is_current:
                pending.discard(video_id)
        progress(len(wanted) - len(pending))
        if pending:
            stop.wait(1.0)
    return not pending


def start_seeding(
    store: MilesStore, then: Callable[[], Callable[[], None]], status: CatalogStatus
) -> Callable[[], None]:
    """What ``make run`` calls at start: in a daemon thread, seed day one, call ``then`` (start the workers),
    wait for the scorer to score day one, seed the next day (whose scores settle day one's), and settle
    ``status``: ready once every seeded video's next day is scored, partial when the scorer ran out of time,
    failed when seeding failed (recommendations then keep answering 503: never ideas from an empty store).

    Returns the stop function (stops the seed, then whatever ``then`` started).
    """
    stop = threading.Event()
    stoppers: list[Callable[[], None]] = []

    def start_workers(first_day: list[SeedVideo]) -> None:
        status.videos = len(first_day)
        status.topics = len({topic for video in first_day for topic in video.topics})
        stoppers.append(then())
        if not wait_until_scored(store, (str(v.first.video_id) for v in first_day), stop):
            logger.warning("catalog: not every day-one video was scored; writing the next day anyway")

    def count_scored(scored: int) -> None:
        status.scored = scored

    def run() -> None:
        videos: list[SeedVideo] = []
        try:
            videos = seed_catalog(store, stop=stop, between=start_workers)
        except Exception as error:  # the API keeps answering; recommendations say the catalog failed
            logger.exception("catalog seeding failed")
            if not stoppers:
                stoppers.append(then())
            status.settle(CatalogState.FAILED, f"seeding failed: {type(error).__name__}: {str(error)[:200]}")
            return
        if stop.is_set():
            return
        if not stoppers:
            stoppers.append(then())
        status.state = CatalogState.SCORING
        if wait_until_scored(store, (str(v.first.video_id) for v in videos), stop, progress=count_scored):
            logger.info("catalog: ready, %d videos scored", len(videos))
            status.settle(CatalogState.READY)
        elif not stop.is_set():
            logger.warning("catalog: not every seeded video was scored; serving what is")
            status.settle(CatalogState.PARTIAL, f"{status.scored} of {status.videos} seeded videos scored in time")

    thread = threading.Thread(target=run, name="miles-catalog-seed", daemon=True)
    thread.start()

    def stop_seeding() -> None:
        stop.set()
        thread.join(timeout=30)
        for stopper in stoppers:
            stopper()

    return stop_seeding


def main(argv: list[str] | None = None) -> int:
    """Compute :data:`SEED_LIST` with the serving encoder (``make model``'s artifact) and write it."""
    from miles_core.inference.predictor import Predictor

    parser = argparse.ArgumentParser(description="Choose the benchmark videos make run seeds, by relevance.")
    parser.add_argument("--model", type=Path, default=Path("build/model"))
    parser.add_argument("--out", type=Path, default=SEED_LIST)
    args = parser.parse_args(argv)
    predictor = Predictor(args.model, threads=1)
    videos = list(read_seed_videos())
    embeddings = [pack_embedding(e) for e in predictor.text_embeddings([v.latest for v in videos])]
    choice = choose(videos, embeddings, predictor.topic_embedding)
    document = {
        "about": "per catalog topic, the benchmark videos make run seeds (python -m infra.localstack.catalog)",
        "model_version": predictor.version,
        "relevance_threshold": RELEVANCE_THRESHOLD,
        "topics": {topic: [[video_id, score] for video_id, score in pairs] for topic, pairs in choice.items()},
    }
    args.out.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for topic, pairs in choice.items():
        print(
            f"{topic:12} {len(pairs)} videos" + (f", relevance {pairs[-1][1]:.3f}-{pairs[0][1]:.3f}" if pairs else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
