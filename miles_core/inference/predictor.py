"""Score observations with the ONNX artifact. Loaded once per Lambda container, reused per request."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from miles_core.config import ConfigError, env_str
from miles_core.coverage import POPULATION_FILE, Coverage, CoverageReason, TrainingPopulation, assess
from miles_core.coverage.language_id import guess_language
from miles_core.features import ChannelPriorValue, FeatureSpec, load_tokenizer
from miles_core.features.groups import GROUPS, mask_numeric
from miles_core.features.pipeline import length_sorted_batches, numeric_inputs
from miles_core.features.text import encoder_text, lexical_vector
from miles_core.inference.artifact import (
    CARD_FILE,
    ENCODER_FILE,
    HEAD_FILE,
    ONNX_OUTPUTS,
    SCORE_REFERENCE_FILE,
    SERVING_GRAPHS_FILE,
    SPEC_FILE,
    TOKENIZER_FILE,
    ModelCard,
    ScoreReference,
    ServingGraphs,
    check_artifact,
)
from miles_core.inference.cpu_quota import default_threads
from miles_core.inference.encode_once import DEFAULT_CAPACITY, TextFeatureCache, TextFeatures
from miles_core.observation import Observation, Regime

ENCODER_CALL_ROWS = 16
"""Most rows per encoder call (length-sorted): short calls pad each text only to its neighbours' length instead
of the batch's longest, while a few rows per call keep the per-call overhead small. ``make bench`` times the
serving path with it (ARCHITECTURE.md, "Serving")."""
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
    """0-100: percentile of ``viral_probability`` among the same regime's predictions on val; None when the
    video lies ``outside`` the training population (a number there would rank what the model cannot read)."""
    contributions: dict[str, float] | None = None
    """With ``explain``: per feature group, the viral logit minus the logit with that group unknown."""
    coverage: Coverage = Coverage.IN_DOMAIN
    """How far the video lies from the training population (:mod:`miles_core.coverage`)."""
    coverage_reasons: tuple[CoverageReason, ...] = ()
    format_markers: tuple[str, ...] = ()
    """Format hashtags found (#shorts...): reported, never read by the model."""


@dataclass(frozen=True)
class ModelOutputs:
    """The artifact's three outputs for a batch, as float64 arrays."""

    viral_logit: np.ndarray
    """Calibrated (stacked) viral logit."""
    log_velocity: np.ndarray
    """Predicted log1p(views/hour)."""
    breakout_logit: np.ndarray
    """Calibrated (stacked) breakout logit."""


def session_options(threads: int, memory_arena: bool = True) -> ort.SessionOptions:
    """Deliberate threading: intra-op = the CPUs we own, no inter-op pool, no spinning waiters.

    onnxruntime's default keeps idle intra-op threads spinning after each run
    (``session.intra_op.allow_spinning`` = "1"): on Lambda that burns billed CPU between requests,
    and at 1,024-1,769 MB (under one vCPU of quota while 2 are visible) it steals the quota the
    handler's own thread needs. A sequential executor is right for two small linear graphs.
    ``memory_arena`` (onnxruntime's CPU arena, on by default) stays on: measured with the bench's
    session runs (ARCHITECTURE.md, "Serving"), turning it off made batch 32 slower and peak RSS
    *higher* (every run allocates afresh from the system allocator, which keeps the freed pages).
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = memory_arena
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _text_version(model_dir: Path, graphs: ServingGraphs) -> str:
    """What a cached text's features depend on: the encoder graph, the feature spec (n-gram IDF), the tokenizer."""
    digest = hashlib.sha256(graphs.encoder_sha256.encode("ascii"))
    for name in (SPEC_FILE, TOKENIZER_FILE):
        digest.update((model_dir / name).read_bytes())
    return digest.hexdigest()


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0))), dtype=np.float64)


class Predictor:
    """The loaded artifact: tokenizer, feature spec, model card, the encoder and head sessions, a text cache.

    Scoring runs the encoder only for texts it has not seen (deduplicated within a batch, then
    kept in :attr:`texts`, a bounded LRU) and the small head graph for every row, so re-scoring a
    video whose stats changed, or explaining a prediction, costs a head call, not an encoder call.
    """

    def __init__(
        self,
        model_dir: Path,
        threads: int | None = None,
        cache_size: int = DEFAULT_CAPACITY,
        memory_arena: bool = True,
    ) -> None:
        check_artifact(model_dir)
        self.model_dir = model_dir
        self.card = ModelCard.load(model_dir / CARD_FILE)
        self.spec = FeatureSpec.load(model_dir / SPEC_FILE)
        self.tokenizer = load_tokenizer(model_dir / TOKENIZER_FILE, self.spec.max_tokens)
        self.score_reference = ScoreReference.load(model_dir / SCORE_REFERENCE_FILE)
        self.graphs = ServingGraphs.load(model_dir / SERVING_GRAPHS_FILE)
        self.population = TrainingPopulation.load(model_dir / POPULATION_FILE)
        self.card = self.card.model_copy(update={"population": self.population})
        # As arrays once per container: every prediction ranks against them / hashes n-grams with them.
        self._post_reference = np.asarray(self.score_reference.post_publish, dtype=np.float64)
        self._pre_reference = np.asarray(self.score_reference.pre_publish, dtype=np.float64)
        self._idf = np.asarray(self.spec.ngram_idf, dtype=np.float32)
        options = session_options(threads or default_threads(), memory_arena)
        self.encoder = ort.InferenceSession(
            str(model_dir / ENCODER_FILE), sess_options=options, providers=["CPUExecutionProvider"]
        )
        # One thread for the head: ~1 ms for 50 rows, too little work per op to share; measured the
        # same wall time at 1 and 2 threads (ARCHITECTURE.md, "Serving"), so the second thread would only cost.
        self.head = ort.InferenceSession(
            str(model_dir / HEAD_FILE),
            sess_options=session_options(1, memory_arena),
            providers=["CPUExecutionProvider"],
        )
        self.texts = TextFeatureCache(_text_version(model_dir, self.graphs), capacity=cache_size)
        self._empty_text: tuple[np.ndarray, float] | None = None

    @property
    def version(self) -> str:
        return self.card.model_version

    @property
    def threshold(self) -> float:
        return self.card.threshold

    def _embed(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Encoder embeddings (float32 [len, dim]) and neighbour priors (float32 [len]) of ``texts``, in input order.

        Texts are sorted by token count and encoded in calls of up to :data:`ENCODER_CALL_ROWS`,
        each padded only to its own longest text: a batch of titles (15 tokens on average, up to
        the 32-token budget) otherwise computes every row at the longest one's length. A row's
        embedding does not depend on its neighbours or its padding (static int8 ranges, masked
        attention; tested), so this changes the cost, not the numbers.
        """
        encodings = self.tokenizer.encode_batch(list(texts))
        embeddings = np.empty((len(texts), self.graphs.embedding_dim), dtype=np.float32)
        priors = np.empty(len(texts), dtype=np.float32)
        outputs = [self.graphs.embedding, self.graphs.neighbour_prior]
        for rows, input_ids, attention_mask in length_sorted_batches(encodings, ENCODER_CALL_ROWS):
            embedding, prior = self.encoder.run(outputs, {"input_ids": input_ids, "attention_mask": attention_mask})
            embeddings[rows], priors[rows] = embedding, prior
        return embeddings, priors

    def text_features(self, observations: Sequence[Observation]) -> list[TextFeatures]:
        """Each row's text features: from the cache, else encoded once per distinct text in the batch."""
        keys = [self.texts.key(obs) for obs in observations]
        found: dict[str, TextFeatures] = {}
        missing: dict[str, Observation] = {}
        for key, obs in zip(keys, observations, strict=True):
            if key in found or key in missing:
                continue
            entry = self.texts.get(key)
            if entry is None:
                missing[key] = obs
            else:
                found[key] = entry
        if missing:
            todo = list(missing.values())
            embeddings, priors = self._embed([encoder_text(obs) for obs in todo])
            for key, obs, embedding, prior in zip(missing, todo, embeddings, priors, strict=True):
                found[key] = TextFeatures.of(embedding, float(prior), lexical_vector(obs, self._idf))
                self.texts.put(key, found[key])
            self.texts.stats.encoded += len(todo)
        return [found[key] for key in keys]

    def text_embeddings(self, observations: Sequence[Observation]) -> np.ndarray:
        """The encoder embeddings of many texts (float32 [N, dim]) without the n-gram vectors or the cache.

        What a bulk job needs (choosing the local catalog: every benchmark video once); equal to the
        ``embedding`` of :meth:`text_features`, which computes the same encoder rows.
        """
        return self._embed([encoder_text(obs) for obs in observations])[0]

    def topic_embedding(self, topic: str) -> np.ndarray:
        """The topic encoded as a title (``miles_core.relevance``): comparable with every video's embedding."""
        return self.text_features([Observation(title=topic)])[0].embedding

    def empty_text(self) -> tuple[np.ndarray, float]:
        """Embedding and neighbour prior of the "unknown" text (``[CLS] [SEP]``): what explaining text feeds."""
        if self._empty_text is None:
            embeddings, priors = self._embed([""])
            self._empty_text = (embeddings[0], float(priors[0]))
        return self._empty_text

    def _head_inputs(
        self,
        observations: Sequence[Observation],
        channel_priors: Sequence[ChannelPriorValue | None] | None,
    ) -> dict[str, np.ndarray]:
        numeric = numeric_inputs(observations, self.spec, channel_priors)
        features = self.text_features(observations)
        width = self._idf.shape[0]
        return {
            self.graphs.embedding: np.stack([f.embedding for f in features]),
            self.graphs.neighbour_prior: np.array([f.neighbour_prior for f in features], dtype=np.float32),
            "numeric": numeric,
            "lexical": np.stack([f.lexical(width) for f in features]),
        }

    def _run(self, feeds: dict[str, np.ndarray]) -> ModelOutputs:
        viral, velocity, breakout = self.head.run(list(ONNX_OUTPUTS), feeds)
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
        """All three outputs (calibrated viral and breakout logits, log1p velocity) in one head call."""
        return self._run(self._head_inputs(observations, channel_priors))

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

    def _masked_feeds(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The batch followed by one copy per feature group with that group unknown: (1 + groups) x rows.

        Only head inputs change: the text group's unknown value is the empty text's embedding and
        neighbour prior (computed once), so explaining never re-runs the encoder for a row's own text.
        """
        rows = len(feeds["numeric"])
        parts = [feeds]
        for group in GROUPS:
            masked = dict(feeds)
            if group == "text":
                embedding, prior = self.empty_text()
                masked[self.graphs.embedding] = np.repeat(embedding[None, :], rows, axis=0)
                masked[self.graphs.neighbour_prior] = np.full(rows, prior, dtype=np.float32)
            elif group == "lexical":
                masked["lexical"] = np.zeros_like(feeds["lexical"])
            else:
                masked["numeric"] = mask_numeric(feeds["numeric"], self.spec, group)
            parts.append(masked)
        return {name: np.concatenate([part[name] for part in parts]) for name in feeds}

    def explain(
        self,
        observations: Sequence[Observation],
        channel_priors: Sequence[ChannelPriorValue | None] | None = None,
    ) -> tuple[ModelOutputs, list[dict[str, float]]]:
        """Outputs plus, per row, each group's contribution to the calibrated viral logit.

        A contribution is the full logit minus the logit with that group set to its unknown value
        (:mod:`miles_core.features.groups`, the masking training uses), all in ONE head call on
        (1 + 6) x rows rows; the encoder runs only for texts not already cached, as in a plain
        prediction, so explaining costs a plain prediction plus a head call on seven times the rows.
        """
        everything = self._run(self._masked_feeds(self._head_inputs(observations, channel_priors)))
        rows = len(observations)
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
        """Score a batch (each encoder call padded to its own longest text, not to a fixed length).

        ``explain=True`` adds per-group ``contributions`` (one head call of seven times the rows).
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
        coverages = [assess(obs, self.population, self.spec.languages) for obs in observations]
        return [
            Prediction(
                viral_probability=float(p),
                is_viral=bool(p >= self.threshold),
                threshold=self.threshold,
                predicted_velocity_views_per_hour=float(max(math.expm1(float(v)), 0.0)),
                regime=regime,
                model_version=self.version,
                breakout_probability=float(b),
                miles_score=None if coverage.coverage is Coverage.OUTSIDE else float(score),
                contributions=explained,
                coverage=coverage.coverage,
                coverage_reasons=coverage.reasons,
                format_markers=coverage.format_markers,
            )
            for regime, p, v, b, score, explained, coverage in zip(
                regimes, probabilities, outputs.log_velocity, breakout, scores, contributions, coverages, strict=True
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
    predictor.empty_text()  # the first "explain": true request must not pay for it either
    guess_language("warm up")  # loads the language identifier (about a second) here, not in a request
    return predictor
