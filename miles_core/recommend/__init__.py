"""Recommendations: trend patterns, LLM and fallback idea generators, model scoring and ranking.

Entry point: :class:`RecommendationService` (``service.py``), written against the small protocols
in ``ports.py``; ``store_adapter.py`` binds those to ``miles_core.store``, ``memory.py`` to memory.
"""

from miles_core.recommend.models import (
    MAX_COUNT,
    MIN_COUNT,
    Generator,
    IdeaDraft,
    Patterns,
    RecommendationRequest,
    RecommendationResponse,
    ScoredIdea,
    Vibe,
)
from miles_core.recommend.patterns import extract_patterns
from miles_core.recommend.service import RecommendationService, cache_key

__all__ = [
    "MAX_COUNT",
    "MIN_COUNT",
    "Generator",
    "IdeaDraft",
    "Patterns",
    "RecommendationRequest",
    "RecommendationResponse",
    "RecommendationService",
    "ScoredIdea",
    "Vibe",
    "cache_key",
    "extract_patterns",
]
