"""Topic relevance on labelled pairs: precision and recall per threshold, and the threshold Miles ships.

``python -m infra.studies.relevance [--model build/model]`` encodes each labelled pair's topic and the
benchmark video's text ("title | first tags") with the serving encoder, takes their cosine
(``miles_core.relevance``) and prints, per threshold, precision and recall of "cosine >= threshold" against
the hand labels in ``tests/fixtures/relevance/labelled_pairs.csv``; then the chosen threshold: the lowest
whose precision reaches ``TARGET_PRECISION``, which must equal ``RELEVANCE_THRESHOLD`` (a test checks it).

The pairs over-sample hard cases (each topic's nearest videos by the encoder and by shared words), so
precision here is lower than on a leaderboard's usual mix: a conservative choice.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infra.studies.arguments import BENCHMARK, REPO, add_serving_model_arguments, study_parser
from miles_core.dataset import iter_csv_rows, row_to_observation
from miles_core.inference.predictor import Predictor
from miles_core.observation import Observation
from miles_core.relevance import RELEVANCE_THRESHOLD, TARGET_PRECISION, pack_embedding, relevance

PAIRS = REPO / "tests" / "fixtures" / "relevance" / "labelled_pairs.csv"
THRESHOLDS = tuple(round(0.25 + 0.02 * step, 2) for step in range(19))
"""0.25 .. 0.61: below 0.25 nearly every pair passes, above 0.6 almost none."""


@dataclass(frozen=True)
class Pair:
    topic: str
    video_id: str
    relevant: bool


@dataclass(frozen=True)
class Scored:
    pair: Pair
    cosine: float


def read_pairs(path: Path = PAIRS) -> list[Pair]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [Pair(row["topic"], row["video_id"], row["relevant"] == "yes") for row in csv.DictReader(handle)]


def read_videos(video_ids: Iterable[str], path: Path = BENCHMARK) -> dict[str, Observation]:
    """The benchmark's observation of each wanted video (its first usable row)."""
    wanted = set(video_ids)
    found: dict[str, Observation] = {}
    for row in iter_csv_rows(path):
        if row.get("video_id") in wanted and row["video_id"] not in found:
            try:
                found[row["video_id"]] = row_to_observation(row)
            except ValueError:
                continue
    return found


def score_pairs(predictor: Predictor, pairs: Sequence[Pair], videos: dict[str, Observation]) -> list[Scored]:
    """Each pair's cosine, through the same packed (float16) embeddings the store keeps."""
    features = predictor.text_features([videos[p.video_id] for p in pairs])
    scored = []
    for pair, feature in zip(pairs, features, strict=True):
        (cosine,) = relevance(predictor.topic_embedding(pair.topic), [pack_embedding(feature.embedding)])
        assert cosine is not None
        scored.append(Scored(pair, cosine))
    return scored


def precision_recall(scored: Sequence[Scored], threshold: float) -> tuple[float, float]:
    predicted = np.array([s.cosine >= threshold for s in scored])
    actual = np.array([s.pair.relevant for s in scored])
    true_positives = int((predicted & actual).sum())
    precision = true_positives / int(predicted.sum()) if predicted.any() else 1.0
    return precision, true_positives / int(actual.sum())


def choose_threshold(scored: Sequence[Scored], thresholds: Sequence[float] = THRESHOLDS) -> float:
    """The lowest threshold whose precision reaches :data:`TARGET_PRECISION` (recall is what is left)."""
    return next(t for t in thresholds if precision_recall(scored, t)[0] >= TARGET_PRECISION)


def main(argv: list[str] | None = None) -> int:
    parser = study_parser(__doc__)
    add_serving_model_arguments(parser)
    args = parser.parse_args(argv)
    pairs = read_pairs()
    videos = read_videos(p.video_id for p in pairs)
    scored = score_pairs(Predictor(args.model, threads=1), pairs, videos)
    relevant = sum(p.relevant for p in pairs)
    print(f"{len(pairs)} labelled pairs ({relevant} relevant), {len({p.topic for p in pairs})} topics")
    print("threshold | precision | recall")
    for threshold in THRESHOLDS:
        precision, recall = precision_recall(scored, threshold)
        print(f"{threshold:9.2f} | {precision:9.3f} | {recall:6.3f}")
    chosen = choose_threshold(scored)
    precision, recall = precision_recall(scored, chosen)
    print(f"chosen: {chosen:.2f} (precision {precision:.3f}, recall {recall:.3f}); shipped: {RELEVANCE_THRESHOLD}")
    return 0 if chosen == RELEVANCE_THRESHOLD else 1


if __name__ == "__main__":
    raise SystemExit(main())
