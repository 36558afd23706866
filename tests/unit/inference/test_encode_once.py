"""Encode once: the split artifact equals the one-graph model, and a text goes through the encoder once.

* ``encoder.onnx`` + ``head.onnx`` give exactly the outputs of ``model.onnx`` on the same padded
  batch (the same quantized nodes on each side of the cut);
* the Predictor encodes each distinct text once per batch (a title at 168 posting times costs one
  encoder row), keeps it in a bounded LRU, and re-scoring or explaining a cached text runs only
  the head; cached and fresh scores agree within what padding can change (<= 1e-5, as in
  ``test_parity``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from miles_core.dataset import load_benchmark
from miles_core.features import build_model_inputs
from miles_core.features.groups import GROUPS, mask_numeric
from miles_core.inference import Predictor
from miles_core.inference.artifact import (
    EMBEDDING,
    ENCODER_FILE,
    HEAD_FILE,
    NEIGHBOUR_PRIOR,
    ONNX_FILE,
    SERVING_GRAPHS_FILE,
    ServingGraphs,
)
from miles_core.inference.encode_once import TextFeatureCache, TextFeatures, text_key
from miles_core.observation import Observation
from miles_core.training.split import encoder_digest

CACHE_TOLERANCE = 1e-5
"""A text's embedding computed in a batch padded to another length: ~6e-8 measured on the shipped model."""


@pytest.fixture(scope="module")
def observations(tiny_data: Path) -> list[Observation]:
    rows = load_benchmark(tiny_data, "val").observations[:8]
    return [*rows, rows[0].as_pre_publish(), rows[1].as_pre_publish()]


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _int8_initializers(path: Path) -> int:
    model = onnx.load(str(path))
    return sum(numpy_helper.to_array(t).dtype == np.int8 for t in model.graph.initializer)


def test_split_graphs_equal_the_one_graph_model(tiny_artifact: Path, observations: list[Observation]) -> None:
    predictor = Predictor(tiny_artifact, threads=1)
    feeds = build_model_inputs(observations, predictor.spec, predictor.tokenizer).as_feeds()
    whole = _session(tiny_artifact / ONNX_FILE).run(None, feeds)
    embedding, prior = _session(tiny_artifact / ENCODER_FILE).run(
        [EMBEDDING, NEIGHBOUR_PRIOR], {"input_ids": feeds["input_ids"], "attention_mask": feeds["attention_mask"]}
    )
    split = _session(tiny_artifact / HEAD_FILE).run(
        None, {EMBEDDING: embedding, NEIGHBOUR_PRIOR: prior, "numeric": feeds["numeric"], "lexical": feeds["lexical"]}
    )
    for got, want in zip(split, whole, strict=True):
        np.testing.assert_array_equal(got, want)


def test_the_cut_puts_every_quantized_weight_in_the_encoder(tiny_artifact: Path) -> None:
    head = onnx.load(str(tiny_artifact / HEAD_FILE))
    assert {i.name for i in head.graph.input} == {EMBEDDING, NEIGHBOUR_PRIOR, "numeric", "lexical"}
    # The neighbour search (its table, TopK) runs once per text, on the encoder's side of the cut.
    assert "TopK" not in {node.op_type for node in head.graph.node}
    assert "TopK" in {node.op_type for node in onnx.load(str(tiny_artifact / ENCODER_FILE)).graph.node}
    assert _int8_initializers(tiny_artifact / HEAD_FILE) == 0
    assert _int8_initializers(tiny_artifact / ENCODER_FILE) == _int8_initializers(tiny_artifact / ONNX_FILE) > 0
    graphs = ServingGraphs.load(tiny_artifact / SERVING_GRAPHS_FILE)
    assert graphs.encoder_sha256 == encoder_digest(tiny_artifact)


def test_predictor_outputs_equal_the_one_graph_model(tiny_artifact: Path, observations: list[Observation]) -> None:
    predictor = Predictor(tiny_artifact, threads=1)
    feeds = build_model_inputs(observations, predictor.spec, predictor.tokenizer).as_feeds()
    viral, velocity, breakout = _session(tiny_artifact / ONNX_FILE).run(None, feeds)
    outputs = predictor.outputs(observations)
    np.testing.assert_allclose(outputs.viral_logit, viral, atol=CACHE_TOLERANCE, rtol=0)
    np.testing.assert_allclose(outputs.log_velocity, velocity, atol=CACHE_TOLERANCE, rtol=0)
    np.testing.assert_allclose(outputs.breakout_logit, breakout, atol=CACHE_TOLERANCE, rtol=0)


def test_one_title_at_168_posting_times_is_encoded_once(tiny_artifact: Path) -> None:
    predictor = Predictor(tiny_artifact, threads=1)
    start = datetime(2026, 5, 4, tzinfo=UTC)
    slots = [
        Observation(title="I tried the 5 AM routine for 30 days", published_at=start + timedelta(hours=h))
        for h in range(168)
    ]
    outputs = predictor.outputs(slots)
    assert predictor.texts.stats.encoded == 1
    assert len(predictor.texts) == 1
    assert len(set(np.round(outputs.viral_logit, 6))) > 1, "the posting time must still move the score"
    fresh = Predictor(tiny_artifact, threads=1, cache_size=0)
    for hour in (0, 13, 167):
        alone = fresh.outputs([slots[hour]]).viral_logit[0]
        assert abs(outputs.viral_logit[hour] - alone) <= CACHE_TOLERANCE


def test_rescoring_changed_stats_runs_no_encoder(tiny_artifact: Path, observations: list[Observation]) -> None:
    predictor = Predictor(tiny_artifact, threads=1)
    posted = [obs for obs in observations if obs.view_count is not None]
    predictor.outputs(posted)
    encoded = predictor.texts.stats.encoded
    later = [obs.model_copy(update={"view_count": 3 * (obs.view_count or 0) + 10}) for obs in posted]
    rescored = predictor.outputs(later)
    assert predictor.texts.stats.encoded == encoded
    assert predictor.texts.stats.hits >= len(later)
    uncached = Predictor(tiny_artifact, threads=1, cache_size=0).outputs(later)
    np.testing.assert_allclose(rescored.viral_logit, uncached.viral_logit, atol=CACHE_TOLERANCE, rtol=0)


def test_explain_reuses_cached_embeddings_and_matches_the_one_graph_masking(
    tiny_artifact: Path, observations: list[Observation]
) -> None:
    predictor = Predictor(tiny_artifact, threads=1)
    predictor.empty_text()
    predictor.outputs(observations)
    encoded = predictor.texts.stats.encoded
    _, contributions = predictor.explain(observations)
    assert predictor.texts.stats.encoded == encoded, "explaining a cached text must not run the encoder"

    # The reference: the one-graph model on (1 + 6) x rows rows masked the way explain did before the split.
    inputs = build_model_inputs(observations, predictor.spec, predictor.tokenizer)
    rows, tokens = inputs.input_ids.shape
    empty = predictor.tokenizer.encode("")
    empty_ids, empty_mask = np.zeros((rows, tokens), np.int64), np.zeros((rows, tokens), np.int64)
    empty_ids[:, : len(empty.ids)], empty_mask[:, : len(empty.ids)] = empty.ids, empty.attention_mask
    parts = [inputs.as_feeds()]
    for group in GROUPS:
        feeds = inputs.as_feeds()
        if group == "text":
            feeds["input_ids"], feeds["attention_mask"] = empty_ids, empty_mask
        elif group == "lexical":
            feeds["lexical"] = np.zeros_like(inputs.lexical)
        else:
            feeds["numeric"] = mask_numeric(inputs.numeric, predictor.spec, group)
        parts.append(feeds)
    stacked = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    viral = _session(tiny_artifact / ONNX_FILE).run(["viral_logit"], stacked)[0]
    for g, group in enumerate(GROUPS):
        expected = viral[:rows] - viral[(1 + g) * rows : (2 + g) * rows]
        got = np.array([c[group] for c in contributions])
        np.testing.assert_allclose(got, expected, atol=CACHE_TOLERANCE, rtol=0, err_msg=group)


def test_the_cache_is_a_bounded_lru() -> None:
    cache = TextFeatureCache("v1", capacity=2)
    entry = TextFeatures.of(np.ones(4, np.float32), 7.5, np.array([0.0, 0.5, 0.0], np.float32))
    for key in ("a", "b"):
        cache.put(key, entry)
    assert cache.get("a") is entry  # "a" is now the most recently used
    cache.put("c", entry)
    assert len(cache) == 2
    assert cache.get("b") is None
    assert cache.get("a") is entry
    assert cache.get("c") is entry
    np.testing.assert_array_equal(entry.lexical(3), [0.0, 0.5, 0.0])
    assert len(TextFeatureCache("v1", capacity=0)) == 0


def test_the_key_names_the_text_and_the_artifact() -> None:
    video = Observation(title="Cat learns to skateboard", tags=("cats",), description="day 3")
    assert text_key(video, "v1") == text_key(video.model_copy(update={"view_count": 5}), "v1")
    assert text_key(video, "v1") != text_key(video, "v2")
    for change in ({"title": "Cat learns to skate"}, {"tags": ("dogs",)}, {"description": "day 4"}):
        assert text_key(video, "v1") != text_key(video.model_copy(update=change), "v1"), change
