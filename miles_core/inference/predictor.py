"""Score observations with the ONNX artifact. Loaded once per Lambda container, reused per request."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from miles_core.config import ConfigError, env_int, env_str
from miles_core.features import ChannelPriorValue, FeatureSpec, build_model_inputs, load_tokenizer
from miles_core.features.groups import GROUPS, mask_numeric
from miles_core.features.pipeline import ModelInputs
from miles_core.inference.artifact import (
    CARD_FILE,
    ONNX_FILE,
    ONNX_OUTPUTS,
    SCORE_REFERENCE_FILE,
    SPEC_FILE,
    TOKENIZER_FILE,
    ModelCard,
    ScoreReference,
    check_artifact,
)
from miles_core.observation import Observation, Regime

DEFAULT_MODEL_DIR = "/opt/miles/model"
"""Where the predict image puts the artifact; ``MILES_MODEL_DIR`` overrides it."""


@dataclass(frozen=True)
class Prediction:
    """One scored observation."""

    viral_probability: float
    is_viral: bool
    threshold: float
    predicted_velocity_views_per_hour: float
    regime: Regime
    model_version: str
    breakout_probability: float | None = None
    """Chance the video at least ~2.3x its views in ~24 h (``is_viral_rel``; calibrated on val)."""
    miles_score: float | None = None
    """0-100: percentile of ``viral_probability`` among the same regime's predictions on val."""
    contributions: dict[str, float] | None = None
    """With ``explain``: per feature group, the viral logit minus the logit with that group unknown."""


@dataclass(frozen=True)
class ModelOutputs:
    """The artifact's three outputs for a batch, as float64 arrays."""

    viral_logit: np.ndarray
    """Calibrated (stacked) viral logit."""
    log_velocity: np.ndarray
    """Predicted log1p(views/hour)."""
    breakout_logit: np.ndarray
    """Calibrated (stacked) breakout logit."""


def _session_options(threads: int) -> ort.SessionOptions:
    """Deliberate threading: intra-op = the cores we own, no inter-op pool, no spinning waiters.

    Spinning threads burn Lambda CPU between requests and slow the cold start; a sequential
    executor is right for a single small graph.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def default_threads() -> int:
    """``MILES_ORT_THREADS`` if set (> 0), else the CPUs this process may use (Lambda: by memory size).

    More threads than cores only adds contention: Lambda gives ~1 vCPU per 1,769 MB, and
    ``sched_getaffinity`` reports exactly what the sandbox grants.
    """
    configured = env_int("MILES_ORT_THREADS", 0)
    if configured > 0:
        return configured
    return max(1, len(os.sched_getaffinity(0)))


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0))), dtype=np.float64)


class Predictor:
    """The loaded artifact: tokenizer, feature spec, model card and an onnxruntime session."""

    def __init__(self, model_dir: Path, threads: int | None = None) -> None:
        check_artifact(model_dir)
        self.model_dir = model_dir
        self.card = ModelCard.load(model_dir / CARD_FILE)
        self.spec = FeatureSpec.load(model_dir / SPEC_FILE)
        self.tokenizer = load_tokenizer(model_dir / TOKENIZER_FILE, self.spec.max_tokens)
        self.score_reference = ScoreReference.load(model_dir / SCORE_REFERENCE_FILE)
        # As arrays once per container: every prediction ranks against them.
        self._post_reference = np.asarray(self.score_reference.post_publish, dtype=np.float64)
        self._pre_reference = np.asarray(self.score_reference.pre_publish, dtype=np.float64)
        self.session = ort.InferenceSession(
            str(model_dir / ONNX_FILE),
            sess_options=_session_options(threads or default_threads()),
            providers=["CPUExecutionProvider"],
        )

    @property
    def version(self) -> str:
        return self.card.model_version

    @property
    def threshold(self) -> float:
        return self.card.threshold

    def _run(self, feeds: dict[str, np.ndarray]) -> ModelOutputs:
        viral, velocity, breakout = self.session.run(list(ONNX_OUTPUTS), feeds)
        return ModelOutputs(
            np.asarray(viral, dtype=np.float64),
            np.asarray(velocity, dtype=np.float64),
            np.asarray(breakout, dtype=np.float64),
        )

    def outputs(
        self,
        observations: Sequence[Observation],
        channel_priors: Sequence[ChannelPriorValue | None] | None = None,
    ) -> ModelOutputs:
        """All three outputs (calibrated viral and breakout logits, log1p velocity) in one call."""
        return self._run(build_model_inputs(observations, self.spec, self.tokenizer, channel_priors).as_feeds())

    def raw_outputs(
        self,
        observations: Sequence[Observation],
        channel_priors: Sequence[ChannelPriorValue | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated viral logits and log1p(views/hour) predictions, as float64 arrays."""
        outputs = self.outputs(observations, channel_priors)
        return outputs.viral_logit, outputs.log_velocity

    def miles_score(self, viral_logits: np.ndarray, regimes: Sequence[Regime]) -> np.ndarray:
        """0-100: the share of the same regime's val predictions at or below each logit (one decimal)."""
        logits = np.asarray(viral_logits, dtype=np.float64)
        post = np.array([regime is Regime.POST_PUBLISH for regime in regimes], dtype=bool)
        scores = np.zeros(len(logits))
        for mask, reference in ((post, self._post_reference), (~post, self._pre_reference)):
            if mask.any():
                ranks = np.searchsorted(reference, logits[mask], side="right")
                scores[mask] = 100.0 * ranks / max(len(reference), 1)
        return np.round(scores, 1)

    def _masked_feeds(self, inputs: ModelInputs) -> dict[str, np.ndarray]:
        """The batch followed by one copy per feature group with that group unknown: (1 + groups) x rows."""
        rows, tokens = inputs.input_ids.shape
        empty = self.tokenizer.encode("")
        empty_ids = np.zeros((rows, tokens), dtype=np.int64)
        empty_mask = np.zeros((rows, tokens), dtype=np.int64)
        empty_ids[:, : len(empty.ids)] = empty.ids
        empty_mask[:, : len(empty.attention_mask)] = empty.attention_mask
        parts = [inputs.as_feeds()]
        for group in GROUPS:
            feeds = inputs.as_feeds()
            if group == "text":
                feeds["input_ids"], feeds["attention_mask"] = empty_ids, empty_mask
            elif group == "lexical":
                feeds["lexical"] = np.zeros_like(inputs.lexical)
            else:
                feeds["numeric"] = mask_numeric(inputs.numeric, self.spec, group)
            parts.append(feeds)
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}

    def explain(
        self,
        observations: Sequence[Observation],
        channel_priors: Sequence[ChannelPriorValue | None] | None = None,
    ) -> tuple[ModelOutputs, list[dict[str, float]]]:
        """Outputs plus, per row, each group's contribution to the calibrated viral logit.

        A contribution is the full logit minus the logit with that group set to its unknown value
        (:mod:`miles_core.features.groups`, the masking training uses), all in ONE onnxruntime call
        on (1 + 6) x rows rows, so explaining costs about seven times a plain prediction.
        """
        inputs = build_model_inputs(observations, self.spec, self.tokenizer, channel_priors)
        everything = self._run(self._masked_feeds(inputs))
        rows = len(inputs)
        outputs = ModelOutputs(
            everything.viral_logit[:rows], everything.log_velocity[:rows], everything.breakout_logit[:rows]
        )
        full = outputs.viral_logit
        contributions = [
            {
                group: round(float(full[row] - everything.viral_logit[(1 + g) * rows + row]), 6)
                for g, group in enumerate(GROUPS)
            }
            for row in range(rows)
        ]
        return outputs, contributions

    def predict(
        self,
        observations: Sequence[Observation],
        channel_priors: Sequence[ChannelPriorValue | None] | None = None,
        explain: bool = False,
    ) -> list[Prediction]:
        """Score a batch (padded to its longest title, not to a fixed length).

        ``explain=True`` adds per-group ``contributions`` (one call of seven times the rows).
        """
        contributions: list[dict[str, float]] | list[None]
        if explain:
            outputs, contributions = self.explain(observations, channel_priors)
        else:
            outputs, contributions = self.outputs(observations, channel_priors), [None] * len(observations)
        probabilities = _sigmoid(outputs.viral_logit)
        breakout = _sigmoid(outputs.breakout_logit)
        regimes = [obs.regime for obs in observations]
        scores = self.miles_score(outputs.viral_logit, regimes)
        return [
            Prediction(
                viral_probability=float(p),
                is_viral=bool(p >= self.threshold),
                threshold=self.threshold,
                predicted_velocity_views_per_hour=float(max(math.expm1(float(v)), 0.0)),
                regime=regime,
                model_version=self.version,
                breakout_probability=float(b),
                miles_score=float(score),
                contributions=explained,
            )
            for regime, p, v, b, score, explained in zip(
                regimes, probabilities, outputs.log_velocity, breakout, scores, contributions, strict=True
            )
        ]


def model_dir_from_env() -> Path:
    """``MILES_MODEL_DIR`` (the image sets ``/opt/miles/model``; ``make run`` sets ``build/model``)."""
    return Path(env_str("MILES_MODEL_DIR", DEFAULT_MODEL_DIR) or DEFAULT_MODEL_DIR)


def load_predictor(model_dir: Path | None = None, threads: int | None = None) -> Predictor:
    """Load the artifact and run one warm-up prediction.

    Called at import time of a handler module, i.e. during Lambda's init phase: the warm-up makes
    onnxruntime allocate its buffers there instead of inside the first user's request.
    """
    directory = model_dir or model_dir_from_env()
    if not directory.is_dir():
        raise ConfigError(f"MILES_MODEL_DIR={directory} is not a directory; build it with `make model`")
    predictor = Predictor(directory, threads=threads)
    predictor.predict([Observation(title="warm up")])
    return predictor
