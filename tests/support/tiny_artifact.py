"""Build a tiny but real serving artifact (random-init 2-layer BERT) for fast tests.

Uses the real feature fitting, the real ServingModel and the real ONNX export + int8
quantization; only the encoder is small and untrained, so it builds in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

SAMPLE_CSV = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "miles_benchmark_sample.csv"


def build_tiny_artifact(out_dir: Path, seed: int = 0) -> Path:
    import torch
    from transformers import BertConfig, BertModel

    from miles_core.dataset import load_benchmark
    from miles_core.features.fit import fit_feature_spec, log_velocity_target, out_of_fold_channel_priors
    from miles_core.inference.artifact import CARD_FILE, SPEC_FILE, ModelCard
    from miles_core.training.encoder import encoder_directory
    from miles_core.training.export import freeze, stats_known_split, write_serving_artifact
    from miles_core.training.model import FusionHead, HeadConfig, ServingModel

    torch.manual_seed(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = load_benchmark(sample_csv())
    targets = [log_velocity_target(r.velocity_views_per_hour) for r in data.rows]
    channels = [r.observation.channel_id for r in data.rows]
    priors = out_of_fold_channel_priors(channels, targets, smoothing=3.0)
    spec = fit_feature_spec(
        data.observations,
        targets,
        max_tokens=32,
        ngram_buckets=256,
        channel_smoothing=3.0,
        languages=["en"],
        training_priors=priors,
    )
    spec.save(out_dir / SPEC_FILE)
    ModelCard(
        model_version="tiny-test",
        encoder="tiny-random-bert",
        feature_version=spec.version,
        threshold=0.5,
        viral_definition="test artifact",
    ).save(out_dir / CARD_FILE)
    tokenizer_path = encoder_directory("all-MiniLM-L6-v2") / "tokenizer.json"
    vocab = json.loads(tokenizer_path.read_text())["model"]["vocab"]
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    encoder = freeze(BertModel(config, add_pooling_layer=False))
    head = FusionHead(HeadConfig(embedding_dim=32, n_numeric=spec.n_numeric, n_buckets=spec.ngram_buckets))
    index, threshold = stats_known_split(spec)
    model = ServingModel(encoder, head.eval(), index, threshold, ((1.0, 0.0), (1.0, 0.0)))
    write_serving_artifact(model, out_dir / SPEC_FILE, out_dir / CARD_FILE, tokenizer_path, out_dir)
    return out_dir


def sample_csv() -> Path:
    if not SAMPLE_CSV.exists():
        raise FileNotFoundError(f"benchmark sample not found at {SAMPLE_CSV}")
    return SAMPLE_CSV
