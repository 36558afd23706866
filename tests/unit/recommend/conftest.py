"""The recommendation fixtures (candidates, fake scorer, real predictor, no LLM configured) for this folder."""

from tests.support.recommend_data import _no_llm_config, candidates, fake_scorer, predictor

__all__ = ["_no_llm_config", "candidates", "fake_scorer", "predictor"]
