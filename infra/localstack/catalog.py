"""Seed the local stack's table with real videos, so ``make run`` shows the product, not an empty store.

The benchmark shipped in the repository (``infra/data/benchmark/miles_benchmark_dev.csv.gz``) holds
real trending videos, each observed twice about a day apart (t0 and the ``next_*`` columns), so
each seeded video gets both snapshots and a real velocity. Everything goes through the store's own
write path (``upsert_video``, ``append_snapshot``, topic membership via the upsert), the path a
scrape job takes, so the stream poller scores them like any scraped video.

Which videos: up to :data:`PER_TOPIC` per catalog topic (``miles_core.scraping.catalog``), val rows
first, then the most recent train rows: about 110 distinct videos (a video on several topics
counts for each), so every topic's leaderboard has 8 or more. Why not all 5,578: moto's DynamoDB
is slow on a busy 2-core box (about 12 conditional writes a second; a video takes 4-8 writes,
and the stream scorer's transactional score write takes 0.3-1.5 s per video), so all rows would
take hours to seed and score; this subset is seeded in about 20 s and scored in about a minute.
The seed runs in a background thread, topic by topic in turns, so the API answers at once; the
queue and stream workers start when it is done (so the scorer does not compete with the seed's
writes; scrape jobs wait in the queue meanwhile).

Idempotent: run ids are fixed, snapshots are put-if-absent and the upsert only moves stats forward,
so seeding the same table again adds no item.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from miles_core.dataset import iter_csv_rows, row_to_observation
from miles_core.observation import Observation
from miles_core.scraping.catalog import topics_for
from miles_core.store import MilesStore, ScrapedVideo, Snapshot, UpsertOutcome
from miles_core.topics import Topic

logger = logging.getLogger(__name__)

BENCHMARK = Path(__file__).resolve().parents[1] / "data" / "benchmark" / "miles_benchmark_dev.csv.gz"
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


def _next_day(row: dict[str, str], first: Observation) -> Observation | None:
    """The ``next_*`` snapshot as an observation of the same video (None when the row lacks it)."""
    try:
        return row_to_observation(
            {
                **row,
                "observed_at": row["next_observed_at"],
                "view_count": row["next_view_count"],
                "like_count": row.get("next_like_count", ""),
                "comment_count": row.get("next_comment_count", ""),
            }
        )
    except (KeyError, ValueError):
        return None


def read_seed_videos(path: Path = BENCHMARK) -> Iterator[SeedVideo]:
    """Every usable benchmark row with at least one catalog topic (bad rows are skipped, as training does)."""
    for row in iter_csv_rows(path):
        try:
            first = row_to_observation(row)
        except ValueError:
            continue
        latest = _next_day(row, first)
        topics = topics_for(first)
        if latest is None or first.view_count is None or latest.view_count is None or not topics:
            continue
        yield SeedVideo(first, latest, topics, row.get("split", ""))


def select(videos: Iterable[SeedVideo], per_topic: int = PER_TOPIC) -> list[SeedVideo]:
    """Up to ``per_topic`` videos per topic: val rows first, then the newest; in a stable order."""

    def rank(video: SeedVideo) -> tuple[bool, float]:
        observed = video.first.observed_at
        return (video.split != "val", -(observed.timestamp() if observed else 0.0))

    chosen: dict[str, SeedVideo] = {}
    by_topic: dict[Topic, list[SeedVideo]] = {}
    for video in sorted(videos, key=rank):
        if any(len(by_topic.get(topic, ())) < per_topic for topic in video.topics):
            assert video.first.video_id is not None
            chosen.setdefault(video.first.video_id, video)
            for topic in video.topics:
                by_topic.setdefault(topic, []).append(video)
    # Topic by topic in turns: the first videos of every topic are written first.
    ordered: dict[str, SeedVideo] = {}
    for turn in range(per_topic):
        for topic_videos in by_topic.values():
            if turn < len(topic_videos):
                video = topic_videos[turn]
                ordered.setdefault(str(video.first.video_id), video)
    return list(ordered.values())


def seed(store: MilesStore, videos: Iterable[SeedVideo], stop: threading.Event | None = None) -> SeedCounts:
    """Write each video's two snapshots and latest stats under each of its topics (idempotent)."""
    counts = SeedCounts()
    for video in videos:
        if stop is not None and stop.is_set():
            break
        latest = ScrapedVideo(video.latest, SOURCE)
        vid = latest.video_id
        counts.videos += 1
        for run_id, observation in ((T0_RUN, video.first), (NEXT_RUN, video.latest)):
            stats = ScrapedVideo(observation, SOURCE).stats
            snapshot = Snapshot(vid, run_id, stats.observed_at, stats, topic=video.topics[0], source=SOURCE)
            counts.new_snapshots += int(store.append_snapshot(snapshot))
        for topic in video.topics:
            if store.upsert_video(latest, topic=topic, run_id=NEXT_RUN) is not UpsertOutcome.UPDATED_OFF_TOPIC:
                store.add_topic_membership(topic, latest)
    return counts


def seed_catalog(
    store: MilesStore, path: Path = BENCHMARK, per_topic: int = PER_TOPIC, stop: threading.Event | None = None
) -> SeedCounts:
    """Select and seed, logging what was added."""
    counts = seed(store, select(read_seed_videos(path), per_topic), stop)
    logger.info(
        "catalog: %d benchmark videos seeded (%d new snapshots) from %s",
        counts.videos,
        counts.new_snapshots,
        path.name,
    )
    return counts


def start_seeding(store: MilesStore, then: Callable[[], Callable[[], None]]) -> Callable[[], None]:
    """What ``make run`` calls at start: seed in a daemon thread, then call ``then`` (start the workers).

    Returns the stop function (stops the seed, then whatever ``then`` started).
    """
    stop = threading.Event()
    stoppers: list[Callable[[], None]] = []

    def run() -> None:
        try:
            seed_catalog(store, stop=stop)
        except Exception:  # the API works without the catalog: say why it is empty, keep serving
            logger.exception("catalog seeding failed")
        if not stop.is_set():
            stoppers.append(then())

    thread = threading.Thread(target=run, name="miles-catalog-seed", daemon=True)
    thread.start()

    def stop_seeding() -> None:
        stop.set()
        thread.join(timeout=30)
        for stopper in stoppers:
            stopper()

    return stop_seeding
