"""The embedding cache: a hit never loads the encoder; a different token budget is a different key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from torch import nn

from miles_core.features import load_tokenizer
from miles_core.training.embeddings import cached_embeddings
from miles_core.training.encoder import load_encoder


def test_cache_hit_skips_the_encoder(tiny_work: Path, tmp_path: Path) -> None:
    encoder_dir = tiny_work / "encoder"
    tokenizer = load_tokenizer(encoder_dir / "tokenizer.json", 16)
    texts = ["first title", "second title | tag", "first title"]
    loads: list[int] = []

    def loader() -> nn.Module:
        loads.append(1)
        return load_encoder(str(encoder_dir))

    def never() -> nn.Module:
        raise AssertionError("encoder loaded on a cache hit")

    kwargs = {"encoder_name": "tiny", "tokenizer": tokenizer, "cache_dir": tmp_path, "layers": 2}
    first = cached_embeddings(texts, max_tokens=16, load_encoder=loader, **kwargs)  # type: ignore[arg-type]
    again = cached_embeddings(texts, max_tokens=16, load_encoder=never, **kwargs)  # type: ignore[arg-type]
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first[0], first[2])
    assert loads == [1]
    with pytest.raises(AssertionError, match="cache hit"):
        cached_embeddings(texts, max_tokens=8, load_encoder=never, **kwargs)  # type: ignore[arg-type]
