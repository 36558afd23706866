"""Serving: load a model artifact and score observations with onnxruntime + tokenizers + numpy.

No torch and no transformers are imported here (cold start budget); a test enforces it.
"""

from miles_core.inference.artifact import ARTIFACT_FILES, ModelArtifactError, ModelCard
from miles_core.inference.predictor import Prediction, Predictor, load_predictor, model_dir_from_env

__all__ = [
    "ARTIFACT_FILES",
    "ModelArtifactError",
    "ModelCard",
    "Prediction",
    "Predictor",
    "load_predictor",
    "model_dir_from_env",
]
