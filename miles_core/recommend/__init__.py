"""Recommendations: trend patterns, LLM and fallback idea generators, model scoring and ranking.

Entry point: :class:`~miles_core.recommend.service.RecommendationService`, written against the small
protocols in ``ports.py``; ``store_adapter.py`` binds those to ``miles_core.store``, ``memory.py`` to
memory. The HTTP bodies are :mod:`miles_core.api.schemas.recommend`, which builds on the domain types
of ``ideas.py`` and ``patterns.py``. Nothing is imported here, so importing one of those modules does
not load the service (and the service may import the API bodies without a cycle).
"""
