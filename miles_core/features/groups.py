"""Feature groups and their "unknown" values: what explanation and training-time masking set a group to.

A group is *masked* by giving the model what it sees when that information is simply not known:

* ``text``: the encoder reads an empty title and no tags (``[CLS] [SEP]``);
* ``lexical``: the hashed n-gram vector is all zeros (no terms);
* ``early_stats``: counts and age unknown, ``stats_known = 0`` -- exactly the pre-publish form;
* ``timing``: publish hour and weekday unknown, ``publish_time_known = 0``;
* ``category``: the ``category_unknown`` one-hot;
* ``channel``: an unseen channel (global prior, ``n_videos = 0``; its subscriber count unknown, in a
  model that reads it).

Unknown numeric values go through the same clip-and-standardise step as real ones, so a masked row
is exactly the row the pipeline builds for an observation that lacks that information. Title style
statistics (length, punctuation, emoji), tag and description counts belong to no group.
"""

from __future__ import annotations

import math

import numpy as np

from miles_core.features.pipeline import STATS_FEATURES, scale_numeric
from miles_core.features.spec import FeatureSpec

GROUPS = ("text", "lexical", "early_stats", "timing", "category", "channel")
TIMING_FEATURES = (
    "publish_hour_sin",
    "publish_hour_cos",
    "publish_weekday_sin",
    "publish_weekday_cos",
    "publish_time_known",
)


def _unknown_raw(spec: FeatureSpec, group: str) -> dict[str, float]:
    """Raw (unscaled) values of ``group``'s numeric features when it is unknown; NaN = missing."""
    nan = math.nan
    if group == "early_stats":
        return {**dict.fromkeys(STATS_FEATURES, nan), "stats_known": 0.0}
    if group == "timing":
        return {**dict.fromkeys(TIMING_FEATURES[:-1], nan), "publish_time_known": 0.0}
    if group == "category":
        return {name: float(name == "category_unknown") for name in spec.numeric_names if name.startswith("category_")}
    if group == "channel":
        unknown = {
            "channel_prior": spec.channel_prior.global_mean,
            "log_channel_videos": 0.0,
            "channel_known": 0.0,
        }
        if "log_channel_subscribers" in spec.numeric_names:  # who posts includes how many follow them
            unknown.update({"log_channel_subscribers": nan, "channel_subscribers_known": 0.0})
        return unknown
    if group in ("text", "lexical"):
        return {}
    raise ValueError(f"unknown feature group {group!r}; expected one of {', '.join(GROUPS)}")


def unknown_numeric(spec: FeatureSpec, group: str) -> tuple[np.ndarray, np.ndarray]:
    """(column indices, scaled unknown values) of ``group`` in the numeric input."""
    raw = _unknown_raw(spec, group)
    columns = np.array([spec.numeric_names.index(name) for name in raw], dtype=np.int64)
    full = np.full((1, spec.n_numeric), np.nan)
    full[0, columns] = list(raw.values())
    return columns, scale_numeric(full, spec)[0, columns]


def mask_numeric(numeric: np.ndarray, spec: FeatureSpec, group: str) -> np.ndarray:
    """A copy of the scaled numeric input with ``group`` set to its unknown values."""
    columns, values = unknown_numeric(spec, group)
    masked = np.array(numeric, dtype=np.float32, copy=True)
    masked[:, columns] = values
    return masked
