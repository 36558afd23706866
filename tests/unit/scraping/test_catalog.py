"""The offline catalog: benchmark seeding (idempotent, real two-snapshot history) and the ``catalog`` source."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from infra.localstack.catalog import (
    PER_TOPIC,
    SEED_LIST,
    SeedVideo,
    TopicChoice,
    choose,
    load_choice,
    read_seed_videos,
    seed,
    select,
)
from miles_core.observation import Observation
from miles_core.relevance import RELEVANCE_THRESHOLD, pack_embedding
from miles_core.scraping.base import SearchQuery, SourceError
from miles_core.scraping.catalog import CATALOG_TOPICS, CatalogSource, match_score, topics_for
from miles_core.scraping.job_runner import run_job
from miles_core.scraping.jobs import new_job
from miles_core.scraping.sources import sources_from_env
from miles_core.store import Cohort, JobStatus, MilesStore, Score, ScrapedVideo, ScrapeJobRequest
from miles_core.topics import normalize_topic
from tests.support.moto_table import NOW, TABLE
from tests.support.paths import REPO_ROOT

SAMPLE = REPO_ROOT / "infra" / "data" / "benchmark" / "miles_benchmark_sample.csv"


def sample_choice(per_topic: int) -> TopicChoice:
    """A seed list over the sample's videos: two topics sharing one video (as a committed list may)."""
    ids = [str(v.first.video_id) for v in read_seed_videos(SAMPLE)][: 2 * per_topic]
    return {
        normalize_topic("gaming"): [(video_id, 0.6) for video_id in ids[:per_topic]],
        normalize_topic("music"): [(video_id, 0.5) for video_id in ids[per_topic - 1 :]][:per_topic],
    }


def _count_items(dynamodb: Any) -> int:
    return sum(page["Count"] for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE, Select="COUNT"))


def test_topics_come_from_title_tags_and_category() -> None:
    craft = Observation(title="I built a Minecraft castle", tags=("survival",), category_id=20)
    assert {"minecraft", "gaming"} <= set(topics_for(craft))
    assert "cooking" in topics_for(Observation(title="3 easy pasta recipes", tags=()))
    assert "football" not in topics_for(Observation(title="Goalkeeper vlog"))  # whole words only


def test_match_ranks_title_over_description_and_folds_plurals() -> None:
    in_title = Observation(title="Home workout for beginners")
    in_description = Observation(title="My morning", description="a quick home workout")
    assert match_score("home workouts", in_title) > match_score("home workouts", in_description) > 0
    assert match_score("home workouts", Observation(title="Cat video")) == 0


def test_seed_writes_day_one_then_the_next_day(store: MilesStore) -> None:
    """Two scrapes a day apart: between them every video holds its t0 stats (what the scorer scores first)."""
    videos = select(read_seed_videos(SAMPLE), sample_choice(3))
    seen_between: list[int | None] = []

    def between(first_day: list[SeedVideo]) -> None:
        assert first_day == videos
        for video in first_day:
            stored = store.get_video(str(video.first.video_id))
            assert stored is not None
            seen_between.append(stored.stats.view_count)

    seed(store, videos, between=between)
    assert seen_between == [video.first.view_count for video in videos]
    for video in videos:
        stored = store.get_video(str(video.first.video_id))
        assert stored is not None
        assert stored.stats.view_count == video.latest.view_count


def test_seed_writes_two_snapshots_per_video_and_repeats_add_nothing(store: MilesStore, aws: dict[str, Any]) -> None:
    videos = select(read_seed_videos(SAMPLE), sample_choice(3))
    assert len(videos) == 5  # the shared video once, on both topics
    assert sorted(len(v.topics) for v in videos) == [1, 1, 1, 1, 2]
    first = seed(store, videos)
    assert first.new_snapshots == 2 * len(videos)
    items = _count_items(aws["dynamodb"])
    again = seed(store, videos)
    assert again.new_snapshots == 0
    assert _count_items(aws["dynamodb"]) == items  # a restart on the same table adds nothing
    video = videos[0]
    snapshots = store.list_snapshots(str(video.first.video_id))
    assert [s.stats.view_count for s in snapshots] == [video.first.view_count, video.latest.view_count]
    stored = store.get_video(str(video.first.video_id))
    assert stored is not None
    assert set(video.topics) <= set(stored.topics)
    assert stored.stats.view_count == video.latest.view_count
    board = store.list_candidates(video.topics[0], limit=50).items
    assert str(video.first.video_id) in {c.video_id for c in board}


def test_catalog_source_answers_from_the_table(store: MilesStore) -> None:
    videos = select(read_seed_videos(SAMPLE), sample_choice(5))
    seed(store, videos)
    topic = videos[0].topics[0]
    result = CatalogSource(lambda: store).search(SearchQuery(topic, max_results=4))
    assert result.source == "catalog"
    assert 0 < len(result.videos) <= 4
    assert all(v.source == "benchmark" for v in result.videos)  # the video keeps where it came from
    with pytest.raises(SourceError, match="no stored video"):
        CatalogSource(lambda: store).search(SearchQuery(normalize_topic("zzqx unknown topic")))


def test_scrape_job_succeeds_offline_from_the_catalog(
    store: MilesStore, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(store, select(read_seed_videos(SAMPLE), sample_choice(5)))
    monkeypatch.setenv("MILES_SCRAPE_SOURCES", "catalog")
    sources = sources_from_env()
    assert [s.name for s in sources] == ["catalog"]
    sources[0]._store = store  # type: ignore[attr-defined]
    store.create_job(new_job(ScrapeJobRequest(normalize_topic("gaming"), 5, 180), "job-cat", trigger="api", now=NOW))
    outcome = run_job(store, sources, "job-cat")
    assert outcome.status is JobStatus.SUCCEEDED, outcome.errors
    job = store.get_job("job-cat")
    assert job is not None
    assert job.source == "catalog"
    assert job.counts.found > 0


def test_a_catalog_search_reads_a_bounded_number_of_items(store: MilesStore, aws: dict[str, Any]) -> None:
    boards = [normalize_topic("home workouts"), *sorted(CATALOG_TOPICS, key=lambda t: t != "fitness")[:7]]
    for b, board in enumerate(boards):
        for n in range(8):
            scraped = ScrapedVideo(
                Observation(video_id=f"{b}-{n}", title=f"{board} home workout {n}", observed_at=NOW, view_count=n),
                source="test",
            )
            store.upsert_video(scraped, topic=board, run_id="seed")
            store.add_topic_membership(board, scraped)
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    aws["dynamodb"].meta.events.register("before-call.dynamodb", count)
    source = CatalogSource(lambda: store, read_budget=20)
    result = source.search(SearchQuery(boards[0], max_results=5))
    assert calls["GetItem"] == 20  # 64 stored videos, 20 read
    assert calls["Query"] == 3  # its own board, the related "fitness" board, one more: the budget ends
    assert {v.video_id for v in result.videos} <= {f"0-{n}" for n in range(8)} | {
        f"{b}-{n}" for b in (1, 2) for n in range(8)
    }
    assert [v.video_id for v in result.videos][:1] == ["0-7"]  # its own board first, most viewed first


def test_the_catalog_answers_no_fresh_uploads(store: MilesStore) -> None:
    """Stored videos are not new uploads: a fresh-cohort job from the catalog finds nothing (and does not fail)."""
    result = CatalogSource(lambda: store).search(SearchQuery(normalize_topic("cooking hacks"), cohort=Cohort.FRESH))
    assert result.videos == []
    assert "fresh" in result.notes[0]


def test_each_topic_gets_its_most_relevant_videos_above_the_threshold() -> None:
    videos = list(read_seed_videos(SAMPLE))[:6]
    axis = np.eye(4, dtype=np.float32)
    # Cosines with the topic's axis 0: 0.9, 0.8, 0.5, 0.3 (below the threshold), 0.0, 0.0.
    values = [0.9, 0.8, 0.5, 0.3, 0.0, 0.0]
    embeddings = [pack_embedding(np.array([v, np.sqrt(1 - v * v), 0, 0], dtype=np.float32)) for v in values]
    t, u = normalize_topic("t"), normalize_topic("u")
    choice = choose(videos, embeddings, lambda topic: axis[0] if topic == t else axis[3], topics=(t, u), per_topic=2)
    ids = [str(v.first.video_id) for v in videos]
    assert [video_id for video_id, _ in choice[t]] == ids[:2]  # the two most relevant, best first
    assert choice[u] == []  # nothing is about "u": no video is seeded for it
    wide = choose(videos, embeddings, lambda topic: axis[0], topics=(t,), per_topic=5)
    assert [video_id for video_id, _ in wide[t]] == ids[:3]  # 0.3 is below the threshold
    assert all(score >= RELEVANCE_THRESHOLD for _, score in wide[t])


def test_the_committed_seed_list_is_real_relevant_and_bounded() -> None:
    choice = load_choice(SEED_LIST)
    assert set(choice) <= set(CATALOG_TOPICS)
    benchmark = {str(v.first.video_id) for v in read_seed_videos()}
    for topic, pairs in choice.items():
        assert len(pairs) <= PER_TOPIC
        assert all(video_id in benchmark for video_id, _ in pairs), topic
        assert all(score >= RELEVANCE_THRESHOLD for _, score in pairs), topic
        assert [s for _, s in pairs] == sorted((s for _, s in pairs), reverse=True)


class AxisEncoder:
    """Topics as unit vectors: "gaming" is axis 0, anything else axis 2 (no stored video points there)."""

    @staticmethod
    def topic_embedding(topic: str) -> np.ndarray:
        axis = np.zeros(4, dtype=np.float32)
        axis[0 if topic == "gaming" else 2] = 1.0
        return axis


def test_with_an_encoder_the_catalog_keeps_only_videos_about_the_topic(store: MilesStore) -> None:
    """Relevance is the stored embedding's cosine with the topic: shared words do not count."""
    videos = select(read_seed_videos(SAMPLE), sample_choice(3))
    seed(store, videos)
    vectors = {0: [1.0, 0, 0, 0], 1: [0.6, 0.8, 0, 0], 2: [0.3, 0.95, 0, 0]}  # cosines 1.0, 0.6, 0.3 with "gaming"
    for index, vector in vectors.items():
        record = store.get_video(str(videos[index].first.video_id))
        assert record is not None
        embedding = pack_embedding(np.array(vector, dtype=np.float32) / np.linalg.norm(vector))
        store.write_score(record, replace(scored(record), text_embedding=embedding))
    source = CatalogSource(lambda: store, encoder=AxisEncoder)
    found = source.search(SearchQuery(normalize_topic("gaming"), max_results=10))
    assert [v.video_id for v in found.videos] == [str(videos[i].first.video_id) for i in (0, 1)]  # 0.3 < threshold
    assert "are about the topic" in found.notes[-1]
    with pytest.raises(SourceError, match="no stored video is about 'dog training'"):
        source.search(SearchQuery(normalize_topic("dog training")))


def scored(record: Any) -> Score:
    return Score(
        viral_probability=0.5,
        predicted_velocity_views_per_hour=10.0,
        is_viral=False,
        threshold=0.5,
        regime="post_publish",
        model_version="test",
        scored_at=NOW,
        stats_key=record.stats_key,
    )
