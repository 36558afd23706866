"""Coverage: where the model knows. The training population measured (``population``), a title's language
(``language_id``) and the per-answer verdict (``assess``): ``in_domain``, ``partial`` or ``outside``."""

from miles_core.coverage.assess import Coverage, CoverageAssessment, CoverageReason, assess
from miles_core.coverage.population import POPULATION_FILE, TrainingPopulation

__all__ = [
    "POPULATION_FILE",
    "Coverage",
    "CoverageAssessment",
    "CoverageReason",
    "TrainingPopulation",
    "assess",
]
