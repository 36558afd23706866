"""``--encoder-layers k``: training pools the first k layers, the export keeps exactly those, the cache keys k.

The tiny encoder has 2 layers; these tests train and export a tiny model on its first layer only.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from miles_core.dataset import load_benchmark
from miles_core.features import FeatureSpec, build_model_inputs, load_tokenizer
from miles_core.inference import Predictor
from miles_core.inference.artifact import CARD_FILE, ModelCard
from miles_core.training.embeddings import cache_path, cached_embeddings, compute_embeddings
from miles_core.training.encoder import encoder_depth, load_encoder, resolve_layers
from miles_core.training.model_dir import HEAD_CONFIG_FILE
from miles_core.training.network import mean_pool
from miles_core.training.onnx_export import export_trained, serving_model
from miles_core.training.train import train
from tests.support.tiny_artifact import tiny_train_options

TEXTS = ["first title", "a much longer second title | with, some, tags", "", "first title"]


def test_truncated_encoder_outputs_the_hidden_state_the_cache_pools(tiny_work: Path) -> None:
    """One pass pools every depth; depth k equals what the encoder cut to k layers computes (export's graph)."""
    encoder_dir = str(tiny_work / "encoder")
    tokenizer = load_tokenizer(tiny_work / "encoder" / "tokenizer.json", 16)
    by_depth = compute_embeddings(load_encoder(encoder_dir), tokenizer, TEXTS)
    assert sorted(by_depth) == [1, 2] == list(range(1, encoder_depth(encoder_dir) + 1))
    encodings = tokenizer.encode_batch(TEXTS)
    ids = torch.tensor([e.ids for e in encodings])
    mask = torch.tensor([e.attention_mask for e in encodings])
    for depth in (1, 2):
        cut = load_encoder(encoder_dir, depth)
        blocks = cut.get_submodule("encoder.layer")
        assert isinstance(blocks, nn.ModuleList)
        assert len(blocks) == depth
        with torch.no_grad():
            pooled = mean_pool(cut(input_ids=ids, attention_mask=mask).last_hidden_state, mask).numpy()
        np.testing.assert_allclose(by_depth[depth], pooled, atol=1e-6)
    assert not np.allclose(by_depth[1], by_depth[2])


def test_cache_is_keyed_by_depth_and_one_miss_fills_every_depth(tiny_work: Path, tmp_path: Path) -> None:
    encoder_dir = str(tiny_work / "encoder")
    tokenizer = load_tokenizer(tiny_work / "encoder" / "tokenizer.json", 16)
    loads: list[int] = []

    def loader() -> nn.Module:
        loads.append(1)
        return load_encoder(encoder_dir)

    def never() -> nn.Module:
        raise AssertionError("encoder loaded on a cache hit")

    common = {"encoder_name": "tiny", "max_tokens": 16, "tokenizer": tokenizer, "cache_dir": tmp_path}
    first = cached_embeddings(TEXTS, layers=1, load_encoder=loader, **common)  # type: ignore[arg-type]
    second = cached_embeddings(TEXTS, layers=2, load_encoder=never, **common)  # type: ignore[arg-type]
    assert loads == [1]
    assert cache_path(tmp_path, "tiny", 16, 1) != cache_path(tmp_path, "tiny", 16, 2)
    assert cache_path(tmp_path, "tiny", 16, 1).is_file()
    assert cache_path(tmp_path, "tiny", 16, 2).is_file()
    assert not np.allclose(first, second)
    uncached = cached_embeddings(TEXTS, layers=2, load_encoder=loader, **{**common, "cache_dir": None})  # type: ignore[arg-type]
    np.testing.assert_array_equal(second, uncached)


def test_layers_outside_the_encoder_are_refused(tiny_work: Path) -> None:
    encoder_dir = str(tiny_work / "encoder")
    assert resolve_layers(encoder_dir, None) == 2
    for wrong in (0, 3):
        with pytest.raises(ValueError, match=r"1\.\.2"):
            resolve_layers(encoder_dir, wrong)


@pytest.fixture(scope="module")
def one_layer_model(tiny_work: Path, tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("one_layer") / "trained"
    options = tiny_train_options(tiny_data, out, tiny_work / "encoder")
    train(dataclasses.replace(options, encoder_layers=1))
    return out


def test_depth_is_recorded_in_head_config_and_card(one_layer_model: Path) -> None:
    assert json.loads((one_layer_model / HEAD_CONFIG_FILE).read_text())["encoder_layers"] == 1
    card = ModelCard.load(one_layer_model / CARD_FILE).model_dump()
    assert card["encoder_layers"] == 1
    assert "-L1-" in card["model_version"]


def test_export_keeps_only_the_trained_layers_and_matches_torch(
    one_layer_model: Path, tiny_work: Path, tiny_data: Path, tmp_path: Path
) -> None:
    fp32 = export_trained(one_layer_model, tmp_path / "fp32", quantize=False)
    int8 = export_trained(one_layer_model, tmp_path / "int8")
    for path in (fp32, int8):
        names = [node.name for node in onnx.load(str(path)).graph.node]
        assert any(name.startswith("/encoder/encoder/layer.0/") for name in names)
        assert not any("/layer.1/" in name for name in names)
    observations = load_benchmark(tiny_data, "val").observations[:8]
    predictor = Predictor(fp32.parent, threads=1)
    spec = FeatureSpec.load(one_layer_model / "feature_spec.json")
    inputs = build_model_inputs(observations, spec, predictor.tokenizer)
    model = serving_model(one_layer_model, load_encoder(str(tiny_work / "encoder")))  # full encoder passed: cut to 1
    with torch.no_grad():
        embedded = model.embed(torch.from_numpy(inputs.input_ids), torch.from_numpy(inputs.attention_mask))
        cut = load_encoder(str(tiny_work / "encoder"), 1)
        ids, mask = torch.from_numpy(inputs.input_ids), torch.from_numpy(inputs.attention_mask)
        expected = mean_pool(cut(input_ids=ids, attention_mask=mask).last_hidden_state, mask)
    np.testing.assert_allclose(embedded.numpy(), expected.numpy(), atol=1e-6)
    served = predictor.raw_outputs(observations)
    assert all(np.all(np.isfinite(output)) for output in served)
