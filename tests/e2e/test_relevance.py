"""Relevance by meaning on the shipped encoder: the committed threshold is the one the labelled pairs choose."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.localstack.catalog import load_choice, read_seed_videos
from infra.localstack.workers import worker_context
from infra.studies.relevance import Scored, choose_threshold, precision_recall, read_pairs, read_videos, score_pairs
from miles_core.inference.predictor import Predictor
from miles_core.relevance import RELEVANCE_THRESHOLD, TARGET_PRECISION, pack_embedding, relevance
from miles_core.store import MilesStore, ScrapedVideo, keys, shared
from miles_core.store.dynamo import serialize_item
from miles_core.topics import normalize_topic
from tests.support.events import load_event
from tests.support.moto_table import TABLE


@pytest.fixture(scope="module")
def scored(shipped_artifact: Path) -> list[Scored]:
    pairs = read_pairs()
    videos = read_videos(p.video_id for p in pairs)
    assert set(videos) == {p.video_id for p in pairs}  # every labelled video is a real benchmark video
    return score_pairs(Predictor(shipped_artifact, threads=1), pairs, videos)


def test_the_shipped_threshold_is_the_one_the_labelled_pairs_choose(scored: list[Scored]) -> None:
    assert choose_threshold(scored) == RELEVANCE_THRESHOLD
    precision, recall = precision_recall(scored, RELEVANCE_THRESHOLD)
    assert precision >= TARGET_PRECISION
    assert recall > 0.3  # what precision first leaves (printed by ``python -m infra.studies.relevance``)


@pytest.mark.parametrize(
    ("topic", "video_id"),
    [
        ("dog training", "iOWUKNuVLpA"),  # Three Dog Night - Mama Told Me Not to Come
        ("skincare for men", "P8ZahXzfjgk"),  # VALORANT Skin Reveal Trailer
        ("football", "UrucsIAg-7k"),  # British & Irish Lions: rugby
    ],
)
def test_word_matches_about_something_else_are_not_relevant(scored: list[Scored], topic: str, video_id: str) -> None:
    (pair,) = [s for s in scored if (s.pair.topic, s.pair.video_id) == (topic, video_id)]
    assert not pair.pair.relevant
    assert pair.cosine < RELEVANCE_THRESHOLD


def test_the_committed_seed_list_is_what_the_shipped_encoder_measures(shipped_artifact: Path) -> None:
    """``make run`` seeds per topic the videos ``python -m infra.localstack.catalog`` chose: re-measured here.

    Every listed video is about its topic, at the cosine the list records (a new model export re-makes the list).
    """
    predictor = Predictor(shipped_artifact, threads=1)
    choice = load_choice()
    videos = {str(v.latest.video_id): v.latest for v in read_seed_videos()}
    for topic, pairs in choice.items():
        features = predictor.text_features([videos[video_id] for video_id, _ in pairs])
        measured = relevance(predictor.topic_embedding(topic), [pack_embedding(f.embedding) for f in features])
        for (video_id, stored), cosine in zip(pairs, measured, strict=True):
            assert cosine is not None
            assert cosine >= RELEVANCE_THRESHOLD, (topic, video_id, cosine)
            assert cosine == pytest.approx(stored, abs=2e-3), (topic, video_id)


CANDIDATE_BOARDS = {
    # topic: (videos about it, word matches about something else), all real benchmark videos
    "cooking": (
        ("db72C1gIJ3s", "GJjMMn8ApGY"),  # I Challenged EVERY YouTube Chef; MY BROTHER TEACHES ME TO COOK!
        ("Ga67qLve5ko", "H5URWUHiWws"),  # Ranking The SPICIEST Fast Food; Miley Cyrus - Secrets
    ),
    "dog training": ((), ("iOWUKNuVLpA", "NESMSBcqfVI")),  # Three Dog Night; DOG HOUSE (a song)
}


def test_candidates_of_a_topic_are_only_the_videos_about_it(
    shipped_artifact: Path, store: MilesStore, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``GET /candidates?topic=`` keeps the videos whose relevance, measured by the scorer, reaches the threshold."""
    from functions.predict import scorer
    from functions.scrape import app

    monkeypatch.setenv("MILES_MODEL_DIR", str(shipped_artifact))
    scorer._state.clear()
    shared.use(store)
    videos = read_videos(video_id for about, decoys in CANDIDATE_BOARDS.values() for video_id in (*about, *decoys))
    records = []
    for topic, (about, decoys) in CANDIDATE_BOARDS.items():
        for video_id in (*about, *decoys):
            scraped = ScrapedVideo(videos[video_id], source="benchmark")
            store.upsert_video(scraped, topic=normalize_topic(topic), run_id="r1")
            store.add_topic_membership(normalize_topic(topic), scraped)
            item = aws["dynamodb"].get_item(TableName=TABLE, Key=serialize_item(keys.video_key(video_id)))["Item"]
            records.append({"eventName": "INSERT", "dynamodb": {"NewImage": item, "SequenceNumber": video_id}})
    assert scorer.handler({"Records": records}, worker_context("scorer")) == {"batchItemFailures": []}
    for topic, (about, decoys) in CANDIDATE_BOARDS.items():
        board = store.list_candidates(normalize_topic(topic), limit=10).items
        assert {c.video_id for c in board} == {*about, *decoys}  # every video is on the board, scored
        assert all(c.relevance is not None for c in board)
        event = load_event("candidates.json")
        event["queryStringParameters"] = {"topic": topic, "limit": "10"}
        event["multiValueQueryStringParameters"] = {"topic": [topic], "limit": ["10"]}
        response = app.handler(event, worker_context("api"))
        assert response["statusCode"] == 200, response["body"]
        items = json.loads(response["body"])["items"]
        assert {item["video_id"] for item in items} == set(about), topic  # the word matches are left out
        assert all(item["relevance"] >= RELEVANCE_THRESHOLD for item in items)
