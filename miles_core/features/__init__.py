"""The one feature pipeline shared by training and serving.

* :func:`build_model_inputs` turns observations into the arrays the model consumes. Training,
  evaluation, export checks and the Lambda handlers all call it; nothing else builds model inputs.
* :class:`FeatureSpec` holds every fitted statistic (scalers, clipping bounds, category vocabulary,
  n-gram IDF, channel prior). It is learned on the train split only by :func:`fit_feature_spec` and
  saved inside the model artifact as ``feature_spec.json``; serving loads it, never refits it.
"""

from miles_core.features.pipeline import ModelInputs, build_model_inputs, load_tokenizer
from miles_core.features.spec import FEATURE_VERSION, ChannelPrior, ChannelPriorValue, FeatureSpec

__all__ = [
    "FEATURE_VERSION",
    "ChannelPrior",
    "ChannelPriorValue",
    "FeatureSpec",
    "ModelInputs",
    "build_model_inputs",
    "load_tokenizer",
]
