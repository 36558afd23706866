"""The offline catalog: benchmark seeding (idempotent, real two-snapshot history) and the ``catalog`` source."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from infra.localstack.catalog import read_seed_videos, seed, select
from miles_core.observation import Observation
from miles_core.scraping.base import SearchQuery, SourceError
from miles_core.scraping.catalog import CATALOG_TOPICS, CatalogSource, match_score, topics_for
from miles_core.scraping.job_runner import run_job
from miles_core.scraping.jobs import new_job
from miles_core.scraping.sources import sources_from_env
from miles_core.store import Cohort, JobStatus, MilesStore, ScrapedVideo, ScrapeJobRequest
from miles_core.topics import normalize_topic
from tests.support.moto_table import NOW, TABLE
from tests.support.paths import REPO_ROOT

SAMPLE = REPO_ROOT / "infra" / "data" / "benchmark" / "miles_benchmark_sample.csv"


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


def test_seed_writes_two_snapshots_per_video_and_repeats_add_nothing(store: MilesStore, aws: dict[str, Any]) -> None:
    videos = select(read_seed_videos(SAMPLE), per_topic=3)
    assert videos
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
    videos = select(read_seed_videos(SAMPLE), per_topic=5)
    seed(store, videos)
    topic = videos[0].topics[0]
    result = CatalogSource(lambda: store).search(SearchQuery(topic, max_results=4))
    assert result.source == "catalog"
    assert 0 < len(result.videos) <= 4
    assert all(v.source == "benchmark" for v in result.videos)  # the video keeps where it came from
    with pytest.raises(SourceError, match="no stored video"):
        CatalogSource(lambda: store).search(SearchQuery("zzqx unknown topic"))


def test_scrape_job_succeeds_offline_from_the_catalog(
    store: MilesStore, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(store, select(read_seed_videos(SAMPLE), per_topic=5))
    monkeypatch.setenv("MILES_SCRAPE_SOURCES", "catalog")
    sources = sources_from_env()
    assert [s.name for s in sources] == ["catalog"]
    sources[0]._store = store  # type: ignore[attr-defined]
    store.create_job(new_job(ScrapeJobRequest("gaming", 5, 180), "job-cat", trigger="api", now=NOW))
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
