"""``python -m infra.bench.variants DIR [DIR ...]``: serving speed of several artifacts side by side.

It compares encoder variants (depth, token budget): each artifact is timed by the
same Miles worker as ``make bench`` (the ``POST /predict`` handler in-process, the same 200 real
titles from the benchmark sample, warm p50 for one title and batch-32 throughput, plus the
title + tags workload), in rounds that visit every artifact in turn, so a load change on this
shared machine hits every variant alike; the median over rounds is reported. Val AUROC is read from
each artifact's model card (what ``miles train`` measured on val), never measured here: no test
split is touched. Writes a markdown table to stdout and JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from infra.bench.machine import describe_machine
from infra.bench.runner import REPO_ROOT, _worker, common_settings, miles_settings_for, summarise_warm
from miles_core.inference.cpu_quota import default_threads

SPEED_KEYS = ("warm_p50_ms", "batch32_items_per_s", "with_tags_warm_p50_ms", "with_tags_batch32_items_per_s")


def card_summary(model_dir: Path) -> dict[str, Any]:
    """Encoder depth, token budget and val AUROC (torch-side and served int8) from the artifact's card."""
    card = json.loads((model_dir / "model_card.json").read_text(encoding="utf-8"))
    metrics = card.get("metrics", {})
    torch_val, served = metrics.get("val_torch", {}), metrics.get("val_served", {})
    return {
        "model_version": card.get("model_version"),
        "encoder_layers": card.get("encoder_layers", 6),  # cards written before the option: the full MiniLM-L6
        "max_tokens": card.get("max_tokens"),
        **{f"val_torch_{r}_auroc": torch_val.get(r, {}).get("auroc") for r in ("post_publish", "pre_publish")},
        **{f"val_served_{r}_auroc": served.get(r, {}).get("auroc") for r in ("post_publish", "pre_publish")},
    }


def measure(model_dirs: list[Path], rounds: int, iterations: int, batch_iterations: int) -> list[dict[str, Any]]:
    """Median over ``rounds`` of each artifact's warm speed; artifacts alternate within each round."""
    common = common_settings(default_threads())
    samples: dict[Path, list[dict[str, float]]] = {d: [] for d in model_dirs}
    for round_index in range(rounds):
        for model_dir in model_dirs:
            print(f">> round {round_index + 1}/{rounds}: {model_dir}", file=sys.stderr, flush=True)
            settings = {**miles_settings_for(model_dir, common), "iterations": iterations}
            _, report = _worker("miles", {**settings, "batch_iterations": batch_iterations})
            samples[model_dir].append(summarise_warm(report, common["batch_size"]))
    return [
        {
            "model_dir": str(model_dir),
            **card_summary(model_dir),
            **{key: round(statistics.median(s[key] for s in samples[model_dir]), 2) for key in SPEED_KEYS},
            "rounds": samples[model_dir],
        }
        for model_dir in model_dirs
    ]


def markdown(rows: list[dict[str, Any]]) -> str:
    """One row per artifact: depth, tokens, val AUROC both regimes, warm p50 and batch-32 throughput."""
    header = (
        "| artifact | layers | max tokens | val AUROC post (torch / int8) | val AUROC pre (torch / int8) "
        "| warm p50 (ms) | batch 32 (items/s) | title + tags: p50 (ms) / batch 32 (items/s) |"
    )
    lines = [header, "|" + "---|" * 8]
    for row in rows:
        post = f"{row['val_torch_post_publish_auroc']} / {row['val_served_post_publish_auroc']}"
        pre = f"{row['val_torch_pre_publish_auroc']} / {row['val_served_pre_publish_auroc']}"
        lines.append(
            f"| {row['model_dir']} | {row['encoder_layers']} | {row['max_tokens']} | {post} | {pre} "
            f"| {row['warm_p50_ms']} | {row['batch32_items_per_s']} "
            f"| {row['with_tags_warm_p50_ms']} / {row['with_tags_batch32_items_per_s']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.bench.variants", description=__doc__.splitlines()[0])
    parser.add_argument("model_dirs", nargs="+", type=Path, help="serving artifacts (built by `miles export`)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=300, help="warm single-item calls per round")
    parser.add_argument("--batch-iterations", type=int, default=20, help="batch-32 calls per round")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / ".bench" / "variants.json")
    args = parser.parse_args(argv)
    missing = [str(d) for d in args.model_dirs if not (d / "model.onnx").is_file()]
    if missing:
        print(f"no model.onnx in {', '.join(missing)}: build with `miles export`", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    rows = measure([d.resolve() for d in args.model_dirs], args.rounds, args.iterations, args.batch_iterations)
    machine = {**describe_machine(), "load_average_before": load_before, "load_average_after": os.getloadavg()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "variants": rows}, indent=1) + "\n", encoding="utf-8")
    print(markdown(rows))
    print(f"\n{machine['cpu_model']}; load before {load_before}, after {machine['load_average_after']}; {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
