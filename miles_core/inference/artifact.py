"""The serving artifact's files and model card.

A serving artifact directory holds:

* ``model.onnx``: encoder + fusion head + calibration, int8-quantized (built by ``make model``): the
  one-graph export, kept as the reference the two serving graphs are cut from;
* ``encoder.onnx``: the text encoder cut out of it (``input_ids``, ``attention_mask`` -> ``text_embedding``),
  already optimized by onnxruntime (so a cold start does not redo it), its weights in ``encoder.onnx.data``;
* ``head.onnx``: the rest (``text_embedding``, ``numeric``, ``lexical`` -> the three outputs), so a text
  is encoded once and its embedding reused when only the stats change (:mod:`miles_core.inference.encode_once`);
* ``serving_graphs.json``: :class:`ServingGraphs`, the embedding's name and width and the encoder's sha256;
* ``tokenizer.json``: the encoder's tokenizer;
* ``feature_spec.json``: :class:`~miles_core.features.FeatureSpec`, the fitted statistics;
* ``model_card.json``: :class:`ModelCard`, version, threshold, provenance and measured metrics;
* ``score_reference.json``: :class:`ScoreReference`, the sorted calibrated val viral logits per regime
  that turn a prediction into its ``miles_score`` (percentile among val predictions of its regime);
* ``population.json``: the training population measured (``miles_core.coverage.population``), what each
  answer's ``coverage`` is checked against and ``GET /model`` states.

The committed trained model (``miles_core/artifacts/default``) has the same spec and card plus
``head.safetensors`` (the small trained weights); ``make model`` turns it into a serving artifact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from miles_core.coverage.population import POPULATION_FILE, TrainingPopulation

ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
SPEC_FILE = "feature_spec.json"
CARD_FILE = "model_card.json"
HEAD_WEIGHTS_FILE = "head.safetensors"
SCORE_REFERENCE_FILE = "score_reference.json"
ENCODER_FILE = "encoder.onnx"
ENCODER_DATA_FILE = "encoder.onnx.data"
"""The encoder graph's initializers (ONNX external data): loaded without parsing them as protobuf."""
HEAD_FILE = "head.onnx"
SERVING_GRAPHS_FILE = "serving_graphs.json"
ARTIFACT_FILES = (
    ENCODER_FILE,
    ENCODER_DATA_FILE,
    HEAD_FILE,
    SERVING_GRAPHS_FILE,
    TOKENIZER_FILE,
    SPEC_FILE,
    CARD_FILE,
    SCORE_REFERENCE_FILE,
    POPULATION_FILE,
)
"""What serving reads (``model.onnx`` is the export's one-graph reference; serving does not load it)."""
ONNX_INPUTS = ("input_ids", "attention_mask", "numeric", "lexical")
ONNX_OUTPUTS = ("viral_logit", "log_velocity", "breakout_logit")
TEXT_INPUTS = ("input_ids", "attention_mask")
EMBEDDING = "text_embedding"
"""The encoder graph's output and the head graph's input: the pooled, L2-normalised text embedding."""
NEIGHBOUR_PRIOR = "text_neighbour_prior"
"""The encoder graph's second output and the head's input: the text-neighbour prior [B] (training/neighbours.py)."""


class ServingGraphs(BaseModel):
    """How ``encoder.onnx`` and ``head.onnx`` fit together (written by the export's split step)."""

    model_config = ConfigDict(frozen=True)

    embedding: str = EMBEDDING
    embedding_dim: int = Field(gt=0, description="Width of the text embedding the head consumes.")
    neighbour_prior: str = NEIGHBOUR_PRIOR
    encoder_sha256: str = Field(
        min_length=64,
        max_length=64,
        description=(
            "sha256 of encoder.onnx and its weights (neighbour table included): the version of cached text features."
        ),
    )

    @classmethod
    def load(cls, path: Path) -> ServingGraphs:
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.model_dump(mode="json"), indent=1) + "\n", encoding="utf-8")


class ScoreReference(BaseModel):
    """Sorted calibrated viral logits of val, per regime: the distribution ``miles_score`` ranks against."""

    model_config = ConfigDict(frozen=True)

    description: str = "sorted calibrated viral logits of the val split, per regime (miles_score = percentile)"
    post_publish: list[float]
    pre_publish: list[float]

    @classmethod
    def load(cls, path: Path) -> ScoreReference:
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.model_dump(mode="json")) + "\n", encoding="utf-8")


class ModelArtifactError(RuntimeError):
    """The artifact directory is missing files or is inconsistent; says how to rebuild it."""


class ModelCard(BaseModel):
    """What a model is, how it was made and how well it does. Served by ``GET /model``."""

    model_config = ConfigDict(extra="allow", frozen=True, protected_namespaces=())

    model_version: str = Field(description="Unique version: encoder, data hash and code commit.")
    encoder: str = Field(description="Text encoder name, e.g. all-MiniLM-L6-v2.")
    feature_version: str
    threshold: float = Field(ge=0, le=1, description="Decision threshold on viral_probability, chosen on val.")
    viral_definition: str = Field(description="What 'viral' means for this model's label.")
    metrics: dict[str, Any] = Field(default_factory=dict, description="Measured metrics, by split and regime.")
    population: TrainingPopulation | None = Field(
        default=None,
        description="Who the model learned from (the train split measured: source, regions, language, formats, "
        "dates, sizes), in numbers and in a paragraph a creator reads. Served from the artifact's population.json.",
    )

    @classmethod
    def load(cls, path: Path) -> ModelCard:
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.model_dump(mode="json"), indent=1, sort_keys=False) + "\n", encoding="utf-8")


def check_artifact(directory: Path) -> None:
    """Raise :class:`ModelArtifactError` naming every missing file and the fix."""
    missing = [name for name in ARTIFACT_FILES if not (directory / name).is_file()]
    if missing:
        raise ModelArtifactError(
            f"model artifact {directory} is missing {', '.join(missing)}; build it with `make model` "
            "or point MILES_MODEL_DIR at a built artifact"
        )
