"""Bad benchmark data: a clear error for unusable files, a counted skip for bad rows, never NaN."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from miles_core.dataset import DatasetError, load_benchmark
from miles_core.features import build_model_inputs
from miles_core.inference import Predictor
from miles_core.observation import Observation


def _rows(source: Path) -> tuple[list[str], list[dict[str, str]]]:
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, fields: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_missing_columns_is_a_clear_error(sample_csv: Path, tmp_path: Path) -> None:
    fields, rows = _rows(sample_csv)
    kept = [f for f in fields if f not in ("view_count", "is_viral")]
    path = _write(tmp_path / "missing.csv", kept, rows[:10])
    with pytest.raises(DatasetError, match="missing required column"):
        load_benchmark(path)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("view_count", "lots", "bad value"),
        ("like_count", "1.5", "bad value"),
        ("title", "", "invalid title"),
        ("velocity_views_per_hour", "nan", "bad value"),
        ("is_viral", "2", "bad value"),
        ("published_at", "yesterday", "bad value"),
    ],
)
def test_bad_rows_are_counted_skips(sample_csv: Path, tmp_path: Path, column: str, value: str, reason: str) -> None:
    fields, rows = _rows(sample_csv)
    rows = rows[:20]
    rows[3][column] = value
    loaded = load_benchmark(_write(tmp_path / "bad.csv", fields, rows))
    assert len(loaded.rows) == 19
    assert sum(loaded.skipped.values()) == 1
    assert next(iter(loaded.skipped)).startswith(reason)


def test_unknown_language_is_a_counted_skip(sample_csv: Path, tmp_path: Path) -> None:
    fields, rows = _rows(sample_csv)
    rows = rows[:20]
    rows[0]["default_audio_language"] = "xx"
    rows[1]["default_audio_language"] = ""
    loaded = load_benchmark(_write(tmp_path / "lang.csv", fields, rows), supported_languages=["en"])
    assert len(loaded.rows) == 18
    assert loaded.skipped["unsupported language 'xx'"] == 1
    assert loaded.skipped["unsupported language None"] == 1


def test_extreme_observations_give_finite_inputs(tiny_artifact: Path) -> None:
    predictor = Predictor(tiny_artifact, threads=1)
    observations = [
        Observation(title="x", view_count=10**13, like_count=0, comment_count=10**13, age_hours=0.0),
        Observation(title="🔥" * 300, tags=("a",) * 100, description="d" * 5000, category_id=99),
        Observation(title="new idea", channel_id="never-seen", language="en"),
    ]
    inputs = build_model_inputs(observations, predictor.spec, predictor.tokenizer)
    for array in (inputs.numeric, inputs.lexical):
        assert np.all(np.isfinite(array))
    logits, velocity = predictor.raw_outputs(observations)
    assert np.all(np.isfinite(logits))
    assert np.all(np.isfinite(velocity))


def test_no_usable_rows_is_an_error(sample_csv: Path, tmp_path: Path) -> None:
    fields, rows = _rows(sample_csv)
    for row in rows[:5]:
        row["title"] = ""
    with pytest.raises(DatasetError, match="no usable rows"):
        load_benchmark(_write(tmp_path / "empty.csv", fields, rows[:5]))
