"""``python -m infra.bench.variants``: the side-by-side table reads depth and val AUROC from each card."""

from __future__ import annotations

from pathlib import Path

from infra.bench.variants import SPEED_KEYS, card_summary, markdown


def test_card_summary_and_table_of_an_artifact(tiny_artifact: Path) -> None:
    summary = card_summary(tiny_artifact)
    assert summary["encoder_layers"] == 2  # the tiny encoder's full depth, recorded by miles train
    assert summary["max_tokens"] == 32
    assert summary["val_torch_post_publish_auroc"] is not None
    row = {"model_dir": "tiny", **summary, **dict.fromkeys(SPEED_KEYS, 1.0)}
    table = markdown([row]).splitlines()
    assert len(table) == 3
    assert table[2].startswith("| tiny | 2 | 32 | ")
    assert all(line.count("|") == 9 for line in table)


def test_bench_requests_drop_the_characters_the_api_refuses() -> None:
    from infra.bench.workload import allowed_text

    assert allowed_text("line one\nline\u202e two\x00\tend") == "line one\nline two\tend"
