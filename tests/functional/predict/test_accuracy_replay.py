"""Replay: the dev file's val rows, scraped twice through the store, give ``miles evaluate``'s AUROC and ECE.

Each val row is written the way a scrape writes it (``upsert_video`` + ``append_snapshot``): first
at t0, then, once the stream scorer has scored that, at its next-day snapshot. The real scorer
handler gets the stream records of those writes with the tiny artifact, keeps its scores and
settles them; ``GET /model/accuracy`` on the real predict handler then answers, and must agree with
``miles evaluate`` on the same rows and model to 1e-6. The tiny artifact stands in for the shipped
one (the same code path; both sides use it).

The rows are the first :data:`REPLAY_ROWS` of those ``miles evaluate --split val`` keeps, written
to a file of their own so ``miles evaluate`` scores exactly them: every row is a dozen moto calls
(``pytest tests/functional/predict/test_accuracy_replay.py --durations=1`` times it), and the suite
runs on 2 shared cores. ``MILES_REPLAY_ROWS=0`` replays every val row.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from infra.localstack.workers import stream_event, worker_context
from miles_core.cli import main
from miles_core.dataset import iter_csv_rows, load_benchmark, row_to_next_observation, row_to_observation
from miles_core.inference import Predictor
from miles_core.observation import Observation
from miles_core.store import MilesStore, ScrapedVideo, Snapshot, shared
from miles_core.store.dynamo import serialize_item
from miles_core.store.keys import video_key
from miles_core.store.schema import table_definition
from tests.support.events import rest_event
from tests.support.paths import BENCHMARK_DATA
from tests.support.predict_app import invoke

DEV = BENCHMARK_DATA / "miles_benchmark_dev.csv.gz"
REPLAY_ROWS = int(os.environ.get("MILES_REPLAY_ROWS", "150"))
"""How many val rows to replay (0: all of them)."""
TABLE = "miles-replay"
STREAM_ARN = f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}/stream/2026-06-01T00:00:00.000"


def val_rows(model: Path, out: Path) -> list[tuple[Observation, Observation]]:
    """(t0, next-day) observations of the replayed rows, which are also written to ``out`` for ``miles evaluate``."""
    evaluated = load_benchmark(DEV, "val", supported_languages=Predictor(model).spec.languages)
    wanted = [row.observation.video_id for row in evaluated.rows]
    wanted = wanted[:REPLAY_ROWS] if REPLAY_ROWS else wanted
    rows = [row for row in iter_csv_rows(DEV) if row["split"] == "val" and row["video_id"] in set(wanted)]
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert len(rows) == len(wanted)
    return [(row_to_observation(row), row_to_next_observation(row)) for row in rows]


def scrape(store: MilesStore, observations: list[Observation], run_id: str) -> None:
    """What a scrape run writes for each video: the latest stats on the video item, and a snapshot."""
    for observation in observations:
        video = ScrapedVideo(observation, "benchmark")
        store.upsert_video(video, topic=None, run_id=run_id)
        store.append_snapshot(
            Snapshot(video.video_id, run_id, video.stats.observed_at, video.stats, source="benchmark")
        )


def score_stream(scorer: ModuleType, dynamodb: Any, video_ids: list[str], batch: int = 50) -> None:
    """The scorer, invoked with the stream records these writes produced (video items' new images, in batches).

    Built from the table's items rather than read from moto's stream: moto's stream keeps a copy of
    every item kind with both images, which made this replay several times slower; the stream poller
    itself is exercised by the scrape pipeline tests.
    """
    for start in range(0, len(video_ids), batch):
        records = []
        for offset, video_id in enumerate(video_ids[start : start + batch]):
            key = serialize_item(video_key(video_id))
            image = dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]
            sequence = str(10**20 + start + offset)
            records.append(
                {"eventName": "MODIFY", "dynamodb": {"Keys": key, "NewImage": image, "SequenceNumber": sequence}}
            )
        answer = scorer.handler(stream_event(records, STREAM_ARN, "us-east-1"), worker_context("scorer"))
        assert answer == {"batchItemFailures": []}


@pytest.fixture
def scorer(aws: dict[str, Any], tiny_artifact: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The real stream scorer on the tiny artifact, its store on a table without a stream (see score_stream)."""
    dynamodb = aws["dynamodb"]
    dynamodb.create_table(**{**table_definition(TABLE), "StreamSpecification": {"StreamEnabled": False}})
    monkeypatch.setenv("MILES_TABLE_NAME", TABLE)
    monkeypatch.setenv("MILES_MODEL_DIR", str(tiny_artifact))
    from functions.predict import scorer

    scorer._state.clear()
    shared.use(MilesStore(dynamodb, TABLE))
    return scorer


def test_replayed_val_rows_give_the_auroc_and_ece_of_miles_evaluate(
    predict_app: ModuleType,
    scorer: ModuleType,
    aws: dict[str, Any],
    tiny_artifact: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    subset = tmp_path / "val_rows.csv"
    pairs = val_rows(tiny_artifact, subset)
    video_ids = [str(first.video_id) for first, _ in pairs]
    store = shared.store()
    scrape(store, [first for first, _ in pairs], "t0")
    score_stream(scorer, aws["dynamodb"], video_ids)
    scrape(store, [latest for _, latest in pairs], "next-day")
    score_stream(scorer, aws["dynamodb"], video_ids)

    status, report = invoke(predict_app, rest_event("GET", "/model/accuracy", query="window_days=1"))
    assert status == 200, report

    assert main(["evaluate", "--model", str(tiny_artifact), "--data", str(subset), "--split", "val", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated["n"] == len(pairs)
    assert report["n"] == 2 * evaluated["n"]  # each video's score from its stats, and from its text alone
    groups = {(g["regime"], g["cohort"]): g for g in report["groups"]}
    assert set(groups) == {("post_publish", None), ("pre_publish", None)}
    for regime in ("post_publish", "pre_publish"):
        group = groups[(regime, None)]
        assert group["model_version"] == evaluated["model_version"] == report["current_model_version"]
        assert group["n"] == evaluated["n"]
        assert 0 < group["positives"] < group["n"]  # both classes: AUROC is defined
        assert group["auroc"] == pytest.approx(evaluated[regime]["auroc"], abs=1e-6)
        assert group["ece"] == pytest.approx(evaluated[regime]["ece"], abs=1e-6)
        assert sum(row["n"] for row in group["reliability"]) == group["n"]
