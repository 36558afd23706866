"""Text handling shared by every caller: encoder text, lexical n-gram hashing, title statistics.

Hashing uses CRC-32 (stable across processes and machines, unlike Python's salted ``hash``), so a
token lands in the same bucket at training time, in the Lambda and in a test.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable

import numpy as np

from miles_core.features.format_markers import model_text
from miles_core.observation import Observation

WORD_PATTERN = re.compile(r"[^\W_]+", re.UNICODE)
DESCRIPTION_CHARS_FOR_NGRAMS = 2000
ENCODER_TAGS = 8


def encoder_text(observation: Observation) -> str:
    """What the sentence encoder reads: the title, then the first few tags (format markers removed)."""
    text = model_text(observation)
    if not text.tags:
        return text.title
    return f"{text.title} | {', '.join(text.tags[:ENCODER_TAGS])}"


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits of any script)."""
    return WORD_PATTERN.findall(text.lower())


def lexical_terms(observation: Observation) -> Iterable[str]:
    """Namespaced terms: title unigrams and bigrams, whole tags, description unigrams (format markers removed)."""
    text = model_text(observation)
    title_words = words(text.title)
    for word in title_words:
        yield f"t:{word}"
    for first, second in itertools.pairwise(title_words):
        yield f"t2:{first} {second}"
    for tag in text.tags:
        yield f"g:{tag.lower()}"
        for word in words(tag):
            yield f"gw:{word}"
    for word in words(text.description[:DESCRIPTION_CHARS_FOR_NGRAMS]):
        yield f"d:{word}"


def bucket_of(term: str, n_buckets: int) -> int:
    """Stable hash bucket of one term."""
    return zlib.crc32(term.encode("utf-8")) % n_buckets


def bucket_counts(observation: Observation, n_buckets: int) -> Counter[int]:
    """How often each bucket is hit by the observation's terms."""
    return Counter(bucket_of(term, n_buckets) for term in lexical_terms(observation))


def lexical_vector(observation: Observation, idf: np.ndarray) -> np.ndarray:
    """Sublinear-TF x IDF over hashed buckets, L2-normalised (zero vector for no terms)."""
    vector = np.zeros(idf.shape[0], dtype=np.float32)
    for bucket, count in bucket_counts(observation, idf.shape[0]).items():
        vector[bucket] = (1.0 + math.log(count)) * idf[bucket]
    norm = float(np.linalg.norm(vector))
    if norm > 0:
        vector /= norm
    return vector


def is_emoji(char: str) -> bool:
    """Rough but stable emoji test over the main pictographic blocks."""
    code = ord(char)
    return 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF


def title_statistics(title: str) -> dict[str, float]:
    """Style of a title: length, numbers, questions, shouting, emoji."""
    letters = [c for c in title if c.isalpha()]
    upper_ratio = sum(c.isupper() for c in letters) / len(letters) if letters else 0.0
    return {
        "title_chars": float(len(title)),
        "title_words": float(len(words(title))),
        "title_has_number": float(any(c.isdigit() for c in title)),
        "title_has_question": float("?" in title),
        "title_has_exclamation": float("!" in title),
        "title_upper_ratio": upper_ratio,
        "title_emoji": float(min(sum(is_emoji(c) for c in title), 5)),
    }
