"""Boosted trees on the numeric features, shipped inside the ONNX graph as one tree-ensemble node.

The network is stacked with scikit-learn's HistGradientBoosting (fitted on post-publish train rows,
``n_iter`` chosen on val): trees read the same standardised ``numeric`` input the head reads, and
their raw scores (viral, breakout) feed the serving model's per-regime stacking. skl2onnx cannot
convert HistGradientBoosting with this onnx/numpy, so :meth:`TreeEnsemble.onnx_node` writes the
``ai.onnx.ml`` ``TreeEnsembleRegressor`` node itself from the fitted trees.

Float32 safety: the graph compares float32 inputs with float32 thresholds, while scikit-learn
compares (the same float32 values widened to) float64 with float64 thresholds. Each threshold is
rounded *down* to the largest float32 ``t32 <= t64``; for every float32 ``x``, ``x <= t64`` iff
``x <= t32``, so every row takes the same path in both. Leaf values are summed in float32 by
onnxruntime (differences ~1e-6, tested <= 1e-4). The op is plain comparisons and additions: no
int8 kernels, nothing that depends on the CPU's instruction set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from miles_core.accuracy.metrics import auroc
from miles_core.training.arrays import load_arrays, save_arrays

if TYPE_CHECKING:
    import onnx

logger = logging.getLogger(__name__)

TREES_FILE = "trees.safetensors"
TREE_TARGETS = ("viral", "breakout")
TREE_OUTPUT = "tree_scores"
ML_OPSET = 3
LEARNING_RATE = 0.03
MAX_ITER = 400


@dataclass(frozen=True)
class TreeEnsemble:
    """Flattened trees: node arrays (local child indices), per-tree offsets and target, base scores."""

    n_features: int
    base_values: np.ndarray
    """float64 [targets]."""
    tree_offsets: np.ndarray
    """int64 [trees + 1]: tree ``t`` owns nodes ``tree_offsets[t]:tree_offsets[t + 1]``."""
    tree_target: np.ndarray
    """int64 [trees]: which output a tree adds to."""
    feature: np.ndarray
    threshold: np.ndarray
    """float32, already rounded down (see the module docstring); ``x <= threshold`` goes left."""
    left: np.ndarray
    right: np.ndarray
    is_leaf: np.ndarray
    value: np.ndarray
    """float64 leaf values."""

    @property
    def n_trees(self) -> int:
        return len(self.tree_target)

    @property
    def n_targets(self) -> int:
        return len(self.base_values)

    def save(self, path: Path) -> None:
        """One safetensors file (byte-stable for the same trees)."""
        arrays: dict[str, np.ndarray] = {
            "n_features": np.array([self.n_features], dtype=np.int64),
            "base_values": self.base_values.astype(np.float64),
            "tree_offsets": self.tree_offsets.astype(np.int64),
            "tree_target": self.tree_target.astype(np.int64),
            "feature": self.feature.astype(np.int32),
            "threshold": self.threshold.astype(np.float32),
            "left": self.left.astype(np.int32),
            "right": self.right.astype(np.int32),
            "is_leaf": self.is_leaf.astype(np.uint8),
            "value": self.value.astype(np.float64),
        }
        save_arrays(path, arrays)

    @classmethod
    def load(cls, path: Path) -> TreeEnsemble:
        a = load_arrays(path, "boosted trees")
        return cls(
            n_features=int(a["n_features"][0]),
            base_values=a["base_values"],
            tree_offsets=a["tree_offsets"],
            tree_target=a["tree_target"],
            feature=a["feature"],
            threshold=a["threshold"],
            left=a["left"],
            right=a["right"],
            is_leaf=a["is_leaf"].astype(bool),
            value=a["value"],
        )

    def decision(self, numeric: np.ndarray) -> np.ndarray:
        """Raw scores [rows, targets] in numpy (the reference the ONNX node is tested against)."""
        x = np.asarray(numeric, dtype=np.float32)
        rows = np.arange(len(x))
        out = np.tile(self.base_values, (len(x), 1)).astype(np.float64)
        for t in range(self.n_trees):
            start = int(self.tree_offsets[t])
            node = np.zeros(len(x), dtype=np.int64)
            while True:
                leaf = self.is_leaf[start + node]
                if leaf.all():
                    break
                at = start + node
                go_left = x[rows, self.feature[at]] <= self.threshold[at]
                node = np.where(leaf, node, np.where(go_left, self.left[at], self.right[at]))
            out[:, int(self.tree_target[t])] += self.value[start + node]
        return out

    def onnx_node(self, input_name: str, output_name: str) -> onnx.NodeProto:
        """``ai.onnx.ml.TreeEnsembleRegressor``: ``input_name`` [N, features] -> ``output_name`` [N, targets]."""
        from onnx import helper

        tree_ids: list[int] = []
        node_ids: list[int] = []
        modes: list[str] = []
        true_ids: list[int] = []
        false_ids: list[int] = []
        target_tree: list[int] = []
        target_node: list[int] = []
        target_ids: list[int] = []
        weights: list[float] = []
        for t in range(self.n_trees):
            start, end = int(self.tree_offsets[t]), int(self.tree_offsets[t + 1])
            for local in range(end - start):
                index = start + local
                tree_ids.append(t)
                node_ids.append(local)
                if self.is_leaf[index]:
                    modes.append("LEAF")
                    true_ids.append(0)
                    false_ids.append(0)
                    target_tree.append(t)
                    target_node.append(local)
                    target_ids.append(int(self.tree_target[t]))
                    weights.append(float(self.value[index]))
                else:
                    modes.append("BRANCH_LEQ")
                    true_ids.append(int(self.left[index]))
                    false_ids.append(int(self.right[index]))
        leaf_mask = self.is_leaf
        return helper.make_node(
            "TreeEnsembleRegressor",
            [input_name],
            [output_name],
            name="boosted_trees",
            domain="ai.onnx.ml",
            n_targets=self.n_targets,
            aggregate_function="SUM",
            post_transform="NONE",
            base_values=[float(v) for v in self.base_values],
            nodes_treeids=tree_ids,
            nodes_nodeids=node_ids,
            nodes_featureids=[0 if leaf else int(f) for f, leaf in zip(self.feature, leaf_mask, strict=True)],
            nodes_modes=modes,
            nodes_values=[0.0 if leaf else float(v) for v, leaf in zip(self.threshold, leaf_mask, strict=True)],
            nodes_truenodeids=true_ids,
            nodes_falsenodeids=false_ids,
            nodes_missing_value_tracks_true=[0] * len(tree_ids),
            target_treeids=target_tree,
            target_nodeids=target_node,
            target_ids=target_ids,
            target_weights=weights,
        )


def float32_floor(thresholds: np.ndarray) -> np.ndarray:
    """The largest float32 at or below each float64 threshold."""
    t64 = np.asarray(thresholds, dtype=np.float64)
    t32 = t64.astype(np.float32)
    too_high = t32.astype(np.float64) > t64
    t32[too_high] = np.nextafter(t32[too_high], np.float32(-np.inf))
    return t32


def from_sklearn(models: list[Any], n_iters: list[int], n_features: int) -> TreeEnsemble:
    """Flatten fitted binary HistGradientBoostingClassifiers (one per target), first ``n_iters`` trees each."""
    offsets = [0]
    target_of: list[int] = []
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "threshold", "left", "right", "is_leaf", "value")}
    base_values = []
    for target, (model, n_iter) in enumerate(zip(models, n_iters, strict=True)):
        base_values.append(0.0 if model is None else float(np.ravel(model._baseline_prediction)[0]))
        if model is None:
            continue
        for (predictor,) in model._predictors[:n_iter]:
            nodes = predictor.nodes
            if np.any(nodes["is_categorical"]):
                raise ValueError("categorical splits are not supported")
            parts["feature"].append(nodes["feature_idx"].astype(np.int32))
            parts["threshold"].append(float32_floor(nodes["num_threshold"]))
            parts["left"].append(nodes["left"].astype(np.int32))
            parts["right"].append(nodes["right"].astype(np.int32))
            parts["is_leaf"].append(nodes["is_leaf"].astype(bool))
            parts["value"].append(nodes["value"].astype(np.float64))
            offsets.append(offsets[-1] + len(nodes))
            target_of.append(target)

    def joined(name: str, dtype: type) -> np.ndarray:
        return np.concatenate(parts[name]) if parts[name] else np.zeros(0, dtype=dtype)

    return TreeEnsemble(
        n_features=n_features,
        base_values=np.array(base_values, dtype=np.float64),
        tree_offsets=np.array(offsets, dtype=np.int64),
        tree_target=np.array(target_of, dtype=np.int64),
        feature=joined("feature", np.int32),
        threshold=joined("threshold", np.float32),
        left=joined("left", np.int32),
        right=joined("right", np.int32),
        is_leaf=joined("is_leaf", bool),
        value=joined("value", np.float64),
    )


@dataclass
class FittedTrees:
    """One target's boosted trees with ``n_iter`` chosen on val, and its val scores at that size."""

    model: Any
    n_iter: int
    val_scores: np.ndarray
    val_auroc: float


def fit_boosted_trees(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    seed: int,
    learning_rate: float = LEARNING_RATE,
    max_iter: int = MAX_ITER,
) -> FittedTrees | None:
    """HistGradientBoosting on rows with a label, ``n_iter`` = the best val AUROC of the staged scores.

    Returns None when train or val lacks labels (e.g. a CSV without ``is_viral_rel``).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    known_train, known_val = ~np.isnan(y_train), ~np.isnan(y_val)
    if len(np.unique(y_train[known_train])) < 2 or len(np.unique(y_val[known_val])) < 2:
        return None
    model = HistGradientBoostingClassifier(
        learning_rate=learning_rate, max_iter=max_iter, early_stopping=False, random_state=seed
    ).fit(x_train[known_train], y_train[known_train].astype(int))
    best: tuple[float, int, np.ndarray] | None = None
    for n_iter, scores in enumerate(model.staged_decision_function(x_val), start=1):
        score = auroc(y_val[known_val], np.asarray(scores)[known_val])
        if best is None or score > best[0]:
            best = (score, n_iter, np.asarray(scores, dtype=np.float64))
    assert best is not None
    return FittedTrees(model, best[1], best[2], best[0])


def graft(model: onnx.ModelProto, trees: TreeEnsemble, input_name: str = "numeric") -> onnx.ModelProto:
    """Compute the graph input ``tree_scores`` inside the graph: one tree-ensemble node reading ``input_name``."""
    from onnx import helper

    graph = model.graph
    graph.node.insert(0, trees.onnx_node(input_name, TREE_OUTPUT))
    kept = [value for value in graph.input if value.name != TREE_OUTPUT]
    del graph.input[:]
    graph.input.extend(kept)
    if not any(o.domain == "ai.onnx.ml" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("ai.onnx.ml", ML_OPSET))
    return model
