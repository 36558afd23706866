"""Frozen-encoder sentence embeddings with a disk cache.

The encoder is never trained, so an embedding depends only on (encoder, max_tokens, text): we
compute each once, cache it on disk, and every later training run or grid point reuses it. That
is what keeps ``miles train`` far below its time budget on two CPU cores.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from torch import nn

logger = logging.getLogger(__name__)
BATCH_SIZE = 64
DEFAULT_CACHE_DIR = Path(".cache/miles")
"""Where ``miles train``, ``miles restack`` and the studies keep the cache (relative: per checkout; gitignored)."""


def text_key(text: str, max_tokens: int) -> str:
    """Cache key of one text: truncation length is part of it (it changes the embedding)."""
    return hashlib.sha256(f"{max_tokens}\n{text}".encode()).hexdigest()


def cache_path(cache_dir: Path, encoder_name: str, max_tokens: int, layers: int) -> Path:
    """One cache file per encoder, token budget and depth, e.g. ``embeddings/all-MiniLM-L6-v2-48-L6.npz``.

    The depth (the first ``layers`` transformer layers) changes every embedding, so it is part of
    the key like the token budget.
    """
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", encoder_name.strip("/")).strip("_")[-80:]
    return cache_dir / "embeddings" / f"{slug}-{max_tokens}-L{layers}.npz"


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    with np.load(path) as stored:
        keys = [str(k) for k in stored["keys"]]
        vectors = stored["vectors"]
    return dict(zip(keys, vectors, strict=True))


def _write_cache(path: Path, table: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted(table)
    scratch = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")  # concurrent runs never share a scratch file
    np.savez(scratch, keys=np.array(keys), vectors=np.stack([table[k] for k in keys]).astype(np.float32))
    scratch.replace(path)


def compute_embeddings(encoder: nn.Module, tokenizer: Tokenizer, texts: Sequence[str]) -> dict[int, np.ndarray]:
    """Mean-pooled, L2-normalised embeddings after EVERY layer depth: ``{depth: [len(texts), dim]}``.

    Depth ``k`` pools ``hidden_states[k]``, which is exactly what the encoder truncated to its
    first ``k`` layers outputs (:func:`~miles_core.training.encoder.truncate_encoder`) and what
    :class:`ServingModel` pools, so one forward pass serves every ``--encoder-layers`` choice at the
    cost of one. Texts are batched by token length so little padding is computed; rows are in
    input order.
    """
    import torch

    from miles_core.features.pipeline import length_sorted_batches
    from miles_core.training.network import mean_pool

    encodings = tokenizer.encode_batch(list(texts))
    out: dict[int, np.ndarray] = {}
    started = time.monotonic()
    done = 0
    with torch.no_grad():
        for batch, (rows, input_ids, attention_mask) in enumerate(length_sorted_batches(encodings, BATCH_SIZE)):
            ids, mask = torch.from_numpy(input_ids), torch.from_numpy(attention_mask)
            hidden_states = encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
            for depth in range(1, len(hidden_states)):  # [0] is the embedding layer: no transformer layer yet
                pooled = mean_pool(hidden_states[depth], mask).numpy()
                if depth not in out:
                    out[depth] = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
                out[depth][rows] = pooled
            done += len(rows)
            if batch % 10 == 0 or done == len(texts):
                elapsed = time.monotonic() - started
                eta = elapsed / done * (len(texts) - done)
                logger.info("embedded %d/%d texts (%.0fs elapsed, ETA %.0fs)", done, len(texts), elapsed, eta)
    return out


def cached_embeddings(
    texts: Sequence[str],
    *,
    encoder_name: str,
    max_tokens: int,
    layers: int,
    tokenizer: Tokenizer,
    cache_dir: Path | None,
    load_encoder: Callable[[], nn.Module],
) -> np.ndarray:
    """Embeddings after the first ``layers`` encoder layers, computing (and caching) only those missing.

    ``load_encoder`` is a zero-argument callable returning the full encoder, called only on a miss,
    so a fully cached run never loads the transformer at all. A miss computes every depth in the
    same pass and caches them all, so trying another ``--encoder-layers`` later costs no encoding.
    """
    path = cache_path(cache_dir, encoder_name, max_tokens, layers) if cache_dir is not None else None
    table = _read_cache(path) if path is not None else {}
    keys = [text_key(t, max_tokens) for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in table}.items())
    unique = len(set(keys))
    logger.info("embeddings (%d layers): %d texts (%d distinct), %d cached, %d to compute", layers, len(texts),
                unique, unique - len(missing), len(missing))  # fmt: skip
    if missing:
        by_depth = compute_embeddings(load_encoder(), tokenizer, [t for _, t in missing])
        if layers not in by_depth:
            raise ValueError(f"the encoder has {len(by_depth)} layers; cannot embed after {layers}")
        for depth, vectors in by_depth.items():
            if depth == layers:
                depth_table = table
            elif cache_dir is not None:
                depth_table = _read_cache(cache_path(cache_dir, encoder_name, max_tokens, depth))
            else:
                continue  # nowhere to keep the other depths
            for (key, _), vector in zip(missing, vectors, strict=True):
                depth_table[key] = vector
            if cache_dir is not None:
                _write_cache(cache_path(cache_dir, encoder_name, max_tokens, depth), depth_table)
    return np.stack([table[k] for k in keys]).astype(np.float32)
