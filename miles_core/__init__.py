"""Miles domain library: features, inference, training, storage, scraping and recommendations.

Everything here is importable without AWS credentials. The serving path (``features`` and
``inference``) imports numpy, tokenizers and onnxruntime only; torch and transformers live in
``miles_core.training`` and are imported lazily by the CLI.
"""

__version__ = "0.1.0"
