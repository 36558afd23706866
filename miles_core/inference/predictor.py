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
from miles_core.inference.artifact import (
    CARD_FILE,
    ONNX_FILE,
    ONNX_OUTPUTS,
    SPEC_FILE,
    TOKENIZER_FILE,
    ModelCard,
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

    def raw_outputs(
        self,
        observations: Sequence[Observation],
        channel_priors: Sequence[ChannelPriorValue | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated viral logits and log1p(views/hour) predictions, as float64 arrays."""
        inputs = build_model_inputs(observations, self.spec, self.tokenizer, channel_priors)
        logits, log_velocity = self.session.run(list(ONNX_OUTPUTS), inputs.as_feeds())
        return np.asarray(logits, dtype=np.float64), np.asarray(log_velocity, dtype=np.float64)

    def predict(
        self,
        observations: Sequence[Observation],
        channel_priors: Sequence[ChannelPriorValue | None] | None = None,
    ) -> list[Prediction]:
        """Score a batch (padded to its longest title, not to a fixed length)."""
        logits, log_velocity = self.raw_outputs(observations, channel_priors)
        probabilities = _sigmoid(logits)
        return [
            Prediction(
                viral_probability=float(p),
                is_viral=bool(p >= self.threshold),
                threshold=self.threshold,
                predicted_velocity_views_per_hour=float(max(math.expm1(float(v)), 0.0)),
                regime=obs.regime,
                model_version=self.version,
            )
            for obs, p, v in zip(observations, probabilities, log_velocity, strict=True)
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
