"""Observations -> model inputs. The only place model inputs are built, for training and serving."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from miles_core.features.format_markers import model_text
from miles_core.features.spec import ChannelPriorValue, FeatureSpec
from miles_core.features.text import encoder_text, lexical_vector, title_statistics
from miles_core.observation import Observation, Regime

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

STATS_FEATURES = (
    "log_views",
    "log_likes",
    "likes_known",
    "log_comments",
    "comments_known",
    "log_age_hours",
    "log_avg_views_per_hour",
    "log_like_rate",
    "log_comment_rate",
)
"""Features that exist only post-publish; in pre-publish they are zero (the train mean)."""

BASE_FEATURES = (
    *STATS_FEATURES,
    "stats_known",
    "channel_prior",
    "log_channel_videos",
    "channel_known",
    "publish_hour_sin",
    "publish_hour_cos",
    "publish_weekday_sin",
    "publish_weekday_cos",
    "publish_time_known",
    "title_chars",
    "title_words",
    "title_has_number",
    "title_has_question",
    "title_has_exclamation",
    "title_upper_ratio",
    "title_emoji",
    "log_tags",
    "log_description_chars",
    "mentions_shorts",
)
"""What the model reads besides text, category and the channel prior.

Duration and follower count are not in it although an ``Observation`` carries both: the training data has
no follower counts and 24 durations in 4,588 rows (all but two longer than a Short). A model cannot learn
what they mean from that; features-v1 had them, and a known 30 s duration alone moved an idea's
miles_score from 36 to 0.1 (an artefact of those 24 rows). They are :data:`OPTIONAL_FEATURES`, in a model
only when its training rows carry them (Miles' own exported rows do).
"""


OPTIONAL_FEATURES = {
    "duration": ("log_duration_seconds", "duration_known"),
    "channel_subscribers": ("log_channel_subscribers", "channel_subscribers_known"),
}
"""Features that exist only in a model whose training rows carried them (:func:`optional_features_present`).

Miles' own exported rows carry a duration and the channel's subscriber count; the benchmark does not
(24 durations in 4,588 rows, no subscriber counts), so a spec fitted on the benchmark alone leaves
them out, keeping that model's inputs exactly as they were. A row without the value has it unknown
(NaN, scaled to the train mean) with its ``*_known`` flag at 0, as a pre-publish row's counts are.
"""
MIN_SOURCE_FRACTION = 0.5
MIN_SOURCE_ROWS = 10
"""An optional group enters the spec when some data file records it: at least half of that file's training rows,
and at least 10 of them, carry it. Values a file holds only here and there (the benchmark's 24 durations in 4,588
rows, all in its first 200) are then not enough to put a feature in a model."""


def optional_features_present(sources: Sequence[Sequence[Observation]]) -> list[str]:
    """The optional feature names (in declaration order) that some source (a file's training rows) records."""
    found: set[str] = set()
    for observations in sources:
        have = {
            "duration": sum(o.duration_seconds is not None for o in observations),
            "channel_subscribers": sum(o.channel_follower_count is not None for o in observations),
        }
        needed = max(MIN_SOURCE_ROWS, MIN_SOURCE_FRACTION * len(observations))
        found.update(group for group, count in have.items() if count >= needed)
    return [name for group, names in OPTIONAL_FEATURES.items() if group in found for name in names]


def optional_features_of(spec: FeatureSpec) -> list[str]:
    """The optional features a fitted spec has, in its column order."""
    known = {name for names in OPTIONAL_FEATURES.values() for name in names}
    return [name for name in spec.numeric_names if name in known]


def category_feature_names(categories: Sequence[int]) -> list[str]:
    """One-hot slot names: one per known category, one for others, one for unknown."""
    return [f"category_{c}" for c in categories] + ["category_other", "category_unknown"]


@dataclass(frozen=True)
class ModelInputs:
    """The arrays the model (torch or ONNX) consumes; names match the ONNX graph inputs."""

    input_ids: np.ndarray
    """int64 [batch, tokens], padded to the longest item in the batch."""
    attention_mask: np.ndarray
    """int64 [batch, tokens]."""
    numeric: np.ndarray
    """float32 [batch, n_numeric], clipped and standardised with the spec's train statistics."""
    lexical: np.ndarray
    """float32 [batch, ngram_buckets], TF-IDF over hashed n-grams, L2-normalised."""

    def as_feeds(self) -> dict[str, np.ndarray]:
        """Inputs keyed by ONNX input name."""
        return {
            "input_ids": self.input_ids,
            "attention_mask": self.attention_mask,
            "numeric": self.numeric,
            "lexical": self.lexical,
        }

    def __len__(self) -> int:
        return int(self.numeric.shape[0])


def load_tokenizer(path: Path, max_tokens: int) -> Tokenizer:
    """Load ``tokenizer.json`` with truncation and dynamic (longest-in-batch) padding."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=max_tokens)
    pad_id = tokenizer.token_to_id("[PAD]")
    tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")  # noqa: S106 - a token, not a password
    return tokenizer


def length_sorted_batches(
    encodings: Sequence[Encoding], rows_per_batch: int
) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
    """Rows sorted by token count, in batches of up to ``rows_per_batch``, each cut to its own longest row.

    Yields (the rows' indices into ``encodings``, ``input_ids``, ``attention_mask``), both int64 [rows, width].
    A row's encoder output depends neither on its neighbours nor on its padding, so this changes what
    encoding a set of texts costs, not the numbers: training's embedding cache and serving both encode
    through it.
    """
    lengths = [sum(e.attention_mask) for e in encodings]
    order = sorted(range(len(encodings)), key=lambda i: lengths[i])
    for start in range(0, len(order), rows_per_batch):
        rows = order[start : start + rows_per_batch]
        width = max(lengths[i] for i in rows)
        yield (
            rows,
            np.array([encodings[i].ids[:width] for i in rows], dtype=np.int64),
            np.array([encodings[i].attention_mask[:width] for i in rows], dtype=np.int64),
        )


def _log1p(value: float) -> float:
    return math.log1p(max(value, 0.0))


def _optional_values(observation: Observation) -> dict[str, float]:
    duration, subscribers = observation.duration_seconds, observation.channel_follower_count
    return {
        "log_duration_seconds": math.nan if duration is None else _log1p(duration),
        "duration_known": float(duration is not None),
        "log_channel_subscribers": math.nan if subscribers is None else _log1p(subscribers),
        "channel_subscribers_known": float(subscribers is not None),
    }


def raw_numeric_features(
    observation: Observation,
    prior: ChannelPriorValue,
    categories: Sequence[int],
    optional: Sequence[str] = (),
) -> list[float]:
    """Unscaled numeric features in ``BASE_FEATURES`` + ``optional`` + category order; NaN marks 'unknown'."""
    nan = math.nan
    post = observation.regime is Regime.POST_PUBLISH
    features: dict[str, float] = dict.fromkeys(STATS_FEATURES, nan)
    if post:
        views = float(observation.view_count or 0)
        age = float(observation.age_hours or 0.0)
        features["log_views"] = _log1p(views)
        features["log_age_hours"] = _log1p(age)
        features["log_avg_views_per_hour"] = _log1p(views / max(age, 0.5))
        if observation.like_count is not None:
            features["log_likes"] = _log1p(observation.like_count)
            features["log_like_rate"] = features["log_likes"] - features["log_views"]
        if observation.comment_count is not None:
            features["log_comments"] = _log1p(observation.comment_count)
            features["log_comment_rate"] = features["log_comments"] - features["log_views"]
        features["likes_known"] = float(observation.like_count is not None)
        features["comments_known"] = float(observation.comment_count is not None)
    features["stats_known"] = float(post)
    features["channel_prior"] = prior.mean_log_velocity
    features["log_channel_videos"] = _log1p(prior.n_videos)
    features["channel_known"] = float(prior.n_videos > 0)
    published = observation.published_at
    if published is not None:
        hour = published.hour + published.minute / 60.0
        features["publish_hour_sin"] = math.sin(2 * math.pi * hour / 24)
        features["publish_hour_cos"] = math.cos(2 * math.pi * hour / 24)
        features["publish_weekday_sin"] = math.sin(2 * math.pi * published.weekday() / 7)
        features["publish_weekday_cos"] = math.cos(2 * math.pi * published.weekday() / 7)
    else:
        for name in ("publish_hour_sin", "publish_hour_cos", "publish_weekday_sin", "publish_weekday_cos"):
            features[name] = nan
    features["publish_time_known"] = float(published is not None)
    text = model_text(observation)
    features.update(title_statistics(text.title))
    features["log_tags"] = _log1p(len(text.tags))
    features["log_description_chars"] = _log1p(len(text.description))
    read = f"{text.title} {text.description[:2000]}".lower()
    features["mentions_shorts"] = float("#shorts" in read or "#short " in read)
    values = [features[name] for name in BASE_FEATURES]
    if optional:
        extra = _optional_values(observation)
        values += [extra[name] for name in optional]
    category = observation.category_id
    one_hot = [0.0] * (len(categories) + 2)
    if category is None:
        one_hot[-1] = 1.0
    elif category in categories:
        one_hot[list(categories).index(category)] = 1.0
    else:
        one_hot[-2] = 1.0
    return values + one_hot


def scale_numeric(raw: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Clip to the train bounds, standardise, and set unknown (NaN) values to the train mean (0)."""
    low = np.asarray(spec.clip_low, dtype=np.float64)
    high = np.asarray(spec.clip_high, dtype=np.float64)
    scaled = (np.clip(raw, low, high) - np.asarray(spec.mean)) / np.asarray(spec.std)
    scaled = np.where(np.isnan(raw), 0.0, scaled)
    if not np.all(np.isfinite(scaled)):
        raise ValueError("feature pipeline produced a non-finite value; check the observation's numbers")
    return scaled.astype(np.float32)


def numeric_inputs(
    observations: Sequence[Observation],
    spec: FeatureSpec,
    channel_priors: Sequence[ChannelPriorValue | None] | None = None,
) -> np.ndarray:
    """The scaled numeric features [batch, n_numeric] of :func:`build_model_inputs`.

    Its own function because serving reuses a video's text features (embedding, n-grams) across
    re-scores and recomputes only these, which change with the stats.
    """
    if not observations:
        raise ValueError("no observations to score")
    if channel_priors is not None and len(channel_priors) != len(observations):
        raise ValueError("channel_priors must have one entry per observation")
    priors = [
        (channel_priors[i] if channel_priors is not None else None) or spec.channel_prior.lookup(obs.channel_id)
        for i, obs in enumerate(observations)
    ]
    optional = optional_features_of(spec)
    raw = np.array(
        [
            raw_numeric_features(obs, prior, spec.categories, optional)
            for obs, prior in zip(observations, priors, strict=True)
        ],
        dtype=np.float64,
    )
    return scale_numeric(raw, spec)


def build_model_inputs(
    observations: Sequence[Observation],
    spec: FeatureSpec,
    tokenizer: Tokenizer,
    channel_priors: Sequence[ChannelPriorValue | None] | None = None,
) -> ModelInputs:
    """Turn observations into model inputs: THE feature pipeline.

    ``channel_priors`` overrides the spec's channel table per observation (``None`` entries fall
    back to it). Training passes out-of-fold priors so a video never sees its own label; serving
    may pass priors the store learned from Miles' own snapshots.
    """
    numeric = numeric_inputs(observations, spec, channel_priors)
    idf = np.asarray(spec.ngram_idf, dtype=np.float32)
    lexical = np.stack([lexical_vector(obs, idf) for obs in observations])
    encodings = tokenizer.encode_batch([encoder_text(obs) for obs in observations])
    return ModelInputs(
        input_ids=np.array([e.ids for e in encodings], dtype=np.int64),
        attention_mask=np.array([e.attention_mask for e in encodings], dtype=np.int64),
        numeric=numeric,
        lexical=lexical,
    )
