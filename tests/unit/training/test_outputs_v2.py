"""Model v2 outputs: trees inside the graph, breakout, miles_score and per-group explanations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from miles_core.coverage.assess import Coverage
from miles_core.dataset import load_benchmark
from miles_core.features import FeatureSpec, build_model_inputs
from miles_core.features.groups import GROUPS, mask_numeric
from miles_core.inference import Predictor
from miles_core.observation import Observation, Regime
from miles_core.training.trees import TREE_OUTPUT, float32_floor, from_sklearn

EXPLAIN_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def predictor(tiny_artifact: Path) -> Predictor:
    return Predictor(tiny_artifact, threads=1)


@pytest.fixture(scope="module")
def val_observations(tiny_data: Path) -> list[Observation]:
    return load_benchmark(tiny_data, "val").observations


def _tree_session(ensemble_node: onnx.NodeProto, n_features: int, n_targets: int) -> ort.InferenceSession:
    graph = helper.make_graph(
        [ensemble_node],
        "trees",
        [helper.make_tensor_value_info("numeric", TensorProto.FLOAT, [None, n_features])],
        [helper.make_tensor_value_info(TREE_OUTPUT, TensorProto.FLOAT, [None, n_targets])],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
        ir_version=10,  # what the pinned onnxruntime reads (onnx's default may be newer)
    )
    onnx.checker.check_model(model)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def test_tree_node_equals_sklearn_on_real_rows(tiny_data: Path, predictor: Predictor) -> None:
    """The hand-written TreeEnsembleRegressor scores real pipeline rows as scikit-learn does (<= 1e-4)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rows = load_benchmark(tiny_data).rows
    observations = [r.observation for r in rows] + [r.observation.as_pre_publish() for r in rows]
    numeric = build_model_inputs(observations, predictor.spec, predictor.tokenizer).numeric
    viral = np.array([r.is_viral for r in rows] * 2)
    breakout = np.array([r.is_viral_rel for r in rows] * 2)
    models = [
        HistGradientBoostingClassifier(max_iter=30, learning_rate=0.1, min_samples_leaf=5, random_state=0).fit(
            numeric, labels
        )
        for labels in (viral, breakout)
    ]
    ensemble = from_sklearn(models, [30, 30], n_features=numeric.shape[1])
    session = _tree_session(ensemble.onnx_node("numeric", TREE_OUTPUT), numeric.shape[1], 2)
    got = session.run(None, {"numeric": numeric})[0]
    for target, model in enumerate(models):
        assert np.max(np.abs(got[:, target] - model.decision_function(numeric))) <= 1e-4
        assert np.max(np.abs(ensemble.decision(numeric)[:, target] - model.decision_function(numeric))) <= 1e-9


def test_float32_floor_keeps_every_comparison() -> None:
    thresholds = np.array([0.1, -0.3, 1.0 / 3.0, 2.5, -1e-9])
    floored = float32_floor(thresholds)
    for t64, t32 in zip(thresholds, floored, strict=True):
        candidates = np.array([np.nextafter(t32, np.float32(-1)), t32, np.nextafter(t32, np.float32(1))])
        assert np.array_equal(candidates <= t32, candidates.astype(np.float64) <= t64)


def test_artifact_computes_its_tree_scores_in_graph(tiny_artifact: Path) -> None:
    model = onnx.load(str(tiny_artifact / "model.onnx"))
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask", "numeric", "lexical"]
    assert sum(node.op_type == "TreeEnsembleRegressor" for node in model.graph.node) == 1
    assert [o.name for o in model.graph.output] == ["viral_logit", "log_velocity", "breakout_logit"]


def test_predictions_carry_breakout_and_miles_score(predictor: Predictor, val_observations: list[Observation]) -> None:
    batch = [*val_observations[:5], *(o.as_pre_publish() for o in val_observations[:5])]
    predictions = predictor.predict(batch)
    for prediction in predictions:
        assert prediction.breakout_probability is not None
        assert 0.0 <= prediction.breakout_probability <= 1.0
        assert prediction.contributions is None
        if prediction.coverage is Coverage.OUTSIDE:  # e.g. a title of hashtags only: no confident number
            assert prediction.miles_score is None
            continue
        assert prediction.miles_score is not None
        assert 0.0 <= prediction.miles_score <= 100.0
    # Within a regime, a higher viral probability never has a lower miles_score.
    for regime in (Regime.POST_PUBLISH, Regime.PRE_PUBLISH):
        same = sorted(
            (p for p in predictions if p.regime is regime and p.miles_score is not None),
            key=lambda p: p.viral_probability,
        )
        scores = [p.miles_score or 0.0 for p in same]
        assert scores == sorted(scores)


def test_miles_score_is_the_val_percentile(predictor: Predictor) -> None:
    reference = np.asarray(predictor.score_reference.pre_publish)
    regimes = [Regime.PRE_PUBLISH] * 3
    scores = predictor.miles_score(np.array([reference[0] - 1.0, float(np.median(reference)), reference[-1]]), regimes)
    assert scores[0] == 0.0
    assert 40.0 <= scores[1] <= 60.0
    assert scores[2] == 100.0


def test_explain_is_one_call_and_matches_plain_outputs(
    predictor: Predictor, val_observations: list[Observation]
) -> None:
    batch = [*val_observations[:4], val_observations[4].as_pre_publish()]
    plain = predictor.outputs(batch)
    explained, contributions = predictor.explain(batch)
    np.testing.assert_allclose(explained.viral_logit, plain.viral_logit, atol=EXPLAIN_TOLERANCE)
    np.testing.assert_allclose(explained.breakout_logit, plain.breakout_logit, atol=EXPLAIN_TOLERANCE)
    assert all(set(c) == set(GROUPS) for c in contributions)
    # A pre-publish row has no early stats to take away.
    assert abs(contributions[-1]["early_stats"]) <= EXPLAIN_TOLERANCE
    # predict(explain=True) carries the same numbers.
    predictions = predictor.predict(batch, explain=True)
    assert [p.contributions for p in predictions] == contributions


def test_masking_a_group_equals_an_observation_without_it(
    predictor: Predictor, val_observations: list[Observation]
) -> None:
    """The explanation's unknown values are exactly what the pipeline builds when the information is absent."""
    spec: FeatureSpec = predictor.spec
    idea = val_observations[0].as_pre_publish()
    full = build_model_inputs([idea], spec, predictor.tokenizer).numeric
    without = {
        "timing": idea.model_copy(update={"published_at": None}),
        "category": idea.model_copy(update={"category_id": None}),
        "channel": idea.model_copy(update={"channel_id": None, "channel_follower_count": None}),
    }
    for group, observation in without.items():
        expected = build_model_inputs([observation], spec, predictor.tokenizer).numeric
        np.testing.assert_array_equal(mask_numeric(full, spec, group), expected, err_msg=group)
    published = val_observations[0]
    stats_masked = mask_numeric(build_model_inputs([published], spec, predictor.tokenizer).numeric, spec, "early_stats")
    np.testing.assert_array_equal(stats_masked, full)


def test_absent_information_contributes_nothing(predictor: Predictor) -> None:
    bare = Observation(title="My first video about sourdough bread")
    _, contributions = predictor.explain([bare])
    for group in ("early_stats", "timing", "category", "channel"):
        assert abs(contributions[0][group]) <= EXPLAIN_TOLERANCE, group


def test_training_masks_write_the_unknown_values(predictor: Predictor, val_observations: list[Observation]) -> None:
    """Random group masking in training writes exactly what the explanation's masked rows hold."""
    import torch

    from miles_core.features.groups import unknown_numeric
    from miles_core.training.trainer import MASKED_GROUPS, GridPoint, GroupMasks

    spec = predictor.spec
    inputs = build_model_inputs(val_observations[:8], spec, predictor.tokenizer)
    empty = np.full(4, 7.0, dtype=np.float32)
    masks = GroupMasks(empty, {g: unknown_numeric(spec, g) for g in MASKED_GROUPS if g not in ("text", "lexical")})
    embedding = torch.zeros((8, 4))
    tensors = [embedding, torch.from_numpy(inputs.numeric), torch.from_numpy(inputs.lexical)]
    masked = masks.apply(tensors, dict.fromkeys(MASKED_GROUPS, 1.0), torch.Generator().manual_seed(0))
    assert torch.all(masked[0] == 7.0)
    assert torch.all(masked[2] == 0.0)
    expected = inputs.numeric
    for group in ("timing", "category", "channel"):
        expected = mask_numeric(expected, spec, group)
    np.testing.assert_array_equal(masked[1].numpy(), expected)
    untouched = masks.apply(tensors, dict.fromkeys(MASKED_GROUPS, 0.0), torch.Generator().manual_seed(0))
    np.testing.assert_array_equal(untouched[1].numpy(), inputs.numeric)
    channel_only = masks.apply(
        tensors, GridPoint(8, 0.1, 0.0, channel_mask_probability=1.0).mask_probabilities(), torch.Generator()
    )
    np.testing.assert_array_equal(channel_only[1].numpy(), mask_numeric(inputs.numeric, spec, "channel"))
    assert torch.all(channel_only[0] == 0.0)  # text untouched
    np.testing.assert_array_equal(channel_only[2].numpy(), inputs.lexical)
