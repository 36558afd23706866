"""How much the text-neighbour prior adds when stacked with the network: the table in docs/model.md, re-runnable.

``python -m infra.studies.text_neighbours`` loads the committed model's
network (its head, not its stacking), builds val inputs through THE feature pipeline and the
embedding cache, and for each variant fits the stacking logistic regression on four fifths of val and
scores the fifth (five folds, ten fold seeds, averaged), so no weight sees the rows it scores.
Printed: AUROC overall / on channels unseen in training / on seen channels, per regime and target,
for several k and search ranks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from infra.studies.arguments import add_trained_model_arguments, study_parser
from miles_core.accuracy.metrics import auroc
from miles_core.dataset import load_benchmark
from miles_core.training.calibration import fit_logistic
from miles_core.training.neighbours import DEFAULT_NEIGHBOURS, TextNeighbours
from miles_core.training.network import STACK_TARGETS
from miles_core.training.train import known_channels
from miles_core.training.trained import TrainedModel

FOLDS = 5
FOLD_SEEDS = 10
NEIGHBOUR_COUNTS = (10, 20, 30, 50, 100)
"""k at the shipped search rank (``SEARCH_RANK``)."""
SEARCH_RANKS = (384, 96, 64)
"""Other ranks at the shipped k: 384 is the full embedding (exact cosine)."""


def cross_validated_stack(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Out-of-fold stacked logits, averaged over fold seeds (rows without a label stay NaN)."""
    out = np.zeros(len(labels))
    for seed in range(FOLD_SEEDS):
        fold = np.random.default_rng(seed).permutation(len(labels)) % FOLDS
        for held in range(FOLDS):
            weights = np.asarray(fit_logistic(features[fold != held], labels[fold != held]))
            rows = fold == held
            out[rows] += features[rows] @ weights[:-1] + weights[-1]
    return out / FOLD_SEEDS


def _cells(labels: np.ndarray, scores: np.ndarray, unseen: np.ndarray) -> str:
    known = ~np.isnan(labels)
    parts = [auroc(labels[known & m], scores[known & m]) for m in (np.ones_like(unseen), unseen, ~unseen)]
    return " | ".join(f"{value:.4f}" for value in parts)


def main(argv: list[str] | None = None) -> int:
    parser = study_parser(__doc__)
    add_trained_model_arguments(parser)
    args = parser.parse_args(argv)

    model = TrainedModel.load(args.model, args.cache_dir)
    train = model.arrays(load_benchmark(args.data, "train").rows)["post_publish"]
    val_rows = model.rows(args.data, "val")
    val = model.outputs(val_rows)
    unseen = ~known_channels(val_rows, model.spec)
    priors: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        f"prior, k = {k}": TextNeighbours.fit(train.embedding, train.log_velocity, k).score for k in NEIGHBOUR_COUNTS
    }
    for rank in SEARCH_RANKS:
        neighbours = TextNeighbours.fit(train.embedding, train.log_velocity, DEFAULT_NEIGHBOURS, rank)
        priors[f"prior, k = {DEFAULT_NEIGHBOURS}, searched in {rank} dimensions"] = neighbours.score
    print(f"{len(val_rows)} val videos, {int(unseen.sum())} from channels unseen in training")
    print("| regime, target | stacked with the network logit | overall | unseen channels | seen channels |")
    print("|---|---|---|---|---|")
    for regime in ("pre_publish", "post_publish"):
        outputs = val[regime]
        for target in STACK_TARGETS:
            raw, labels = outputs.network(target), outputs.labels(target).astype(np.float64)
            variants = {"nothing (Platt scaling)": raw[:, None]}
            variants.update(
                {name: np.stack([raw, score(outputs.arrays.embedding)], axis=1) for name, score in priors.items()}
            )
            for name, features in variants.items():
                stacked = cross_validated_stack(features, labels)
                print(f"| {regime}, {target} | {name} | {_cells(labels, stacked, unseen)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
