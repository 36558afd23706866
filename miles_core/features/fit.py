"""Fit a :class:`FeatureSpec` on training observations (train split only, never val or test)."""

from __future__ import annotations

import math
import random
import warnings
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from miles_core.features.pipeline import (
    BASE_FEATURES,
    category_feature_names,
    optional_features_present,
    raw_numeric_features,
)
from miles_core.features.spec import ChannelPrior, ChannelPriorValue, FeatureSpec
from miles_core.features.text import bucket_counts
from miles_core.observation import Observation

CLIP_QUANTILES = (0.005, 0.995)
MIN_CATEGORY_COUNT = 20


def fit_channel_prior(
    channel_ids: Sequence[str | None], log_velocity: Sequence[float], smoothing: float
) -> ChannelPrior:
    """Per-channel sums and counts of log1p(views/hour), smoothed towards the global mean."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for channel, target in zip(channel_ids, log_velocity, strict=True):
        if channel is not None:
            sums[channel][0] += float(target)
            sums[channel][1] += 1.0
    global_mean = float(np.mean(np.asarray(log_velocity, dtype=np.float64)))
    table = {channel: (round(total, 6), int(count)) for channel, (total, count) in sorted(sums.items())}
    return ChannelPrior(global_mean=round(global_mean, 6), smoothing=smoothing, table=table)


def out_of_fold_channel_priors(
    channel_ids: Sequence[str | None],
    log_velocity: Sequence[float],
    smoothing: float,
    folds: int = 5,
    seed: int = 0,
) -> list[ChannelPriorValue]:
    """Each training row's prior computed without its own fold, so no row sees its own label."""
    order = list(range(len(channel_ids)))
    random.Random(seed).shuffle(order)  # noqa: S311 - fold assignment, not security
    fold_of = {row: position % folds for position, row in enumerate(order)}
    priors: list[ChannelPriorValue] = [ChannelPriorValue(0.0, 0)] * len(channel_ids)
    for fold in range(folds):
        train_rows = [row for row in order if fold_of[row] != fold]
        prior = fit_channel_prior(
            [channel_ids[r] for r in train_rows], [log_velocity[r] for r in train_rows], smoothing
        )
        for row in order:
            if fold_of[row] == fold:
                priors[row] = prior.lookup(channel_ids[row])
    return priors


def _column_statistics(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Clip bounds, mean and std per column, ignoring NaN (unknown) values.

    Columns never observed in train are all NaN: they get neutral values
    (bounds 0, mean 0, std 1), so numpy's empty-slice warnings are expected and silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low = np.nan_to_num(np.nanquantile(raw, CLIP_QUANTILES[0], axis=0), nan=0.0)
        high = np.nan_to_num(np.nanquantile(raw, CLIP_QUANTILES[1], axis=0), nan=0.0)
        # Binary flags are never clipped: a rare flag must still reach the model.
        binary = np.all(np.isnan(raw) | (raw == 0.0) | (raw == 1.0), axis=0)
        low = np.where(binary, 0.0, low)
        high = np.where(binary, 1.0, high)
        clipped = np.clip(raw, low, high)
        mean = np.nan_to_num(np.nanmean(clipped, axis=0), nan=0.0)
        std = np.nan_to_num(np.nanstd(clipped, axis=0), nan=1.0)
    return low, high, mean, np.where(std < 1e-6, 1.0, std)


def fit_feature_spec(
    observations: Sequence[Observation],
    log_velocity: Sequence[float],
    *,
    max_tokens: int,
    ngram_buckets: int,
    channel_smoothing: float,
    languages: Sequence[str],
    training_priors: Sequence[ChannelPriorValue],
    sources: Sequence[Sequence[Observation]] | None = None,
) -> FeatureSpec:
    """Learn clipping bounds, scalers, category vocabulary, IDF and channel prior on train rows.

    ``observations`` are the unique post-publish training rows (one per video).

    ``training_priors`` are the out-of-fold priors the model will be trained with, so the scaler
    of ``channel_prior`` matches what training actually feeds. ``sources`` are the same rows grouped
    by data file (default: one file), which decides the optional features
    (:func:`~miles_core.features.pipeline.optional_features_present`).
    """
    counts: dict[int, int] = defaultdict(int)
    for obs in observations:
        if obs.category_id is not None:
            counts[obs.category_id] += 1
    categories = sorted(c for c, n in counts.items() if n >= MIN_CATEGORY_COUNT)
    optional = optional_features_present(sources or [observations])
    # Scalers see both regimes, exactly as training feeds them (each row post- and pre-publish).
    raw = np.array(
        [
            raw_numeric_features(view, prior, categories, optional)
            for obs, prior in zip(observations, training_priors, strict=True)
            for view in (obs, obs.as_pre_publish())
        ],
        dtype=np.float64,
    )
    low, high, mean, std = _column_statistics(raw)
    document_frequency = np.zeros(ngram_buckets, dtype=np.float64)
    for obs in observations:
        for bucket in bucket_counts(obs, ngram_buckets):
            document_frequency[bucket] += 1
    idf = np.log((1 + len(observations)) / (1 + document_frequency)) + 1.0
    return FeatureSpec(
        max_tokens=max_tokens,
        numeric_names=[*BASE_FEATURES, *optional, *category_feature_names(categories)],
        clip_low=[round(float(v), 6) for v in low],
        clip_high=[round(float(v), 6) for v in high],
        mean=[round(float(v), 6) for v in mean],
        std=[round(float(v), 6) for v in std],
        categories=categories,
        ngram_buckets=ngram_buckets,
        ngram_idf=[round(float(v), 5) for v in idf],
        languages=sorted(set(languages)),
        channel_prior=fit_channel_prior([o.channel_id for o in observations], log_velocity, channel_smoothing),
    )


def log_velocity_target(velocity_views_per_hour: float) -> float:
    """Regression target: log1p of views/hour (negative velocities, from count corrections, -> 0)."""
    return math.log1p(max(velocity_views_per_hour, 0.0))
