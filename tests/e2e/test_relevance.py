"""Relevance by meaning on the shipped encoder: the committed threshold is the one the labelled pairs choose."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.localstack.catalog import load_choice, read_seed_videos
from infra.studies.relevance import Scored, choose_threshold, precision_recall, read_pairs, read_videos, score_pairs
from miles_core.inference.predictor import Predictor
from miles_core.relevance import RELEVANCE_THRESHOLD, TARGET_PRECISION, pack_embedding, relevance


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
