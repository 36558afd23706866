"""Build a tiny but real serving artifact for fast tests, through the real training path.

A random-init 2-layer BERT (hidden 32) stands in for MiniLM; everything else is what ``miles
train`` and ``miles export`` run: feature fitting, out-of-fold priors, cached-embedding head
training with val selection and random group masking, boosted trees, stacking on val, ONNX export,
int8 quantization and the in-graph tree node. It builds in
seconds. The card's version is pinned to ``tiny-test`` because other areas' tests assert it.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

SAMPLE_CSV = Path(__file__).resolve().parents[2] / "infra" / "data" / "benchmark" / "miles_benchmark_sample.csv"
TINY_VERSION = "tiny-test"
VAL_ROWS = 50


def sample_csv() -> Path:
    if not SAMPLE_CSV.exists():
        raise FileNotFoundError(f"benchmark sample not found at {SAMPLE_CSV}")
    return SAMPLE_CSV


def sample_with_val(out_path: Path, val_rows: int = VAL_ROWS) -> Path:
    """The 200-row sample (all ``train``) with its latest ``val_rows`` rows (by t0) relabelled ``val``.

    Mirrors the real time split, so the tiny model goes through the same train/val selection.
    """
    with sample_csv().open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    latest = sorted(range(len(rows)), key=lambda i: (rows[i]["observed_at"], i))[-val_rows:]
    for i in latest:
        rows[i]["split"] = "val"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return out_path


def build_tiny_encoder(directory: Path, seed: int = 0) -> Path:
    """A random-init 2-layer BERT saved like a downloaded model (config, safetensors, tokenizer.json)."""
    import torch
    from transformers import BertConfig, BertModel

    from miles_core.training.encoder import tokenizer_path

    tokenizer = tokenizer_path("all-MiniLM-L6-v2")
    vocab = json.loads(tokenizer.read_text(encoding="utf-8"))["model"]["vocab"]
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    torch.manual_seed(seed)
    model = BertModel(config)  # with the pooler, like real checkpoints (unused, pruned from ONNX)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(directory))
    shutil.copyfile(tokenizer, directory / "tokenizer.json")
    return directory


def tiny_train_options(data: Path | tuple[Path, ...], out: Path, encoder: Path, seed: int = 0):  # type: ignore[no-untyped-def]
    """Training options sized for seconds: short tokens, few buckets, one grid point, few epochs."""
    from miles_core.training.train import TrainOptions
    from miles_core.training.trainer import FitSettings, GridPoint

    return TrainOptions(
        data=data,
        out=out,
        encoder=str(encoder),
        seed=seed,
        max_tokens=32,
        ngram_buckets=256,
        cache_dir=None,
        grid=(
            GridPoint(hidden_dim=16, dropout=0.1, weight_decay=1e-3, text_dim=8, lexical_dim=4, mask_probability=0.2),
        ),
        settings=FitSettings(max_epochs=4, patience=4, batch_size=64),
        ensemble_size=2,
        measure_served=False,
    )


def work_dir(out_dir: Path) -> Path:
    """Where :func:`build_tiny_artifact` keeps its inputs: ``encoder/``, ``trained/``, the CSV."""
    return out_dir.parent / f"{out_dir.name}-work"


def build_tiny_artifact(out_dir: Path, seed: int = 0) -> Path:
    """Train a tiny model on the sample and export it as a serving artifact into ``out_dir``."""
    from miles_core.inference.artifact import CARD_FILE, ModelCard
    from miles_core.training.onnx_export import export_trained
    from miles_core.training.train import train

    work = work_dir(out_dir)
    data = sample_with_val(work / "sample_with_val.csv")
    encoder = build_tiny_encoder(work / "encoder", seed)
    trained = work / "trained"
    card = train(tiny_train_options(data, trained, encoder, seed))
    card.model_copy(update={"model_version": TINY_VERSION}).save(trained / CARD_FILE)
    assert ModelCard.load(trained / CARD_FILE).model_version == TINY_VERSION
    export_trained(trained, out_dir)
    return out_dir
