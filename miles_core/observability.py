"""Powertools Logger, Metrics and Tracer set up the same way for every Miles function.

Two deliberate deviations from the defaults, both about running outside an X-Ray-enabled Lambda:

* The metrics namespace falls back to ``Miles`` when ``POWERTOOLS_METRICS_NAMESPACE`` is unset:
  without one, Powertools raises at flush time, turning every request into an error.
* When tracing would be off anyway (Powertools' documented rule: outside Lambda, i.e. no
  ``LAMBDA_TASK_ROOT``; under SAM local, ``AWS_SAM_LOCAL``; or ``POWERTOOLS_TRACE_DISABLED`` true),
  the Tracer gets a no-op provider instead of the X-Ray SDK.
  Importing the SDK creates two botocore clients (~0.4 s); a disabled tracer would pay that for
  nothing, in the local stack, tests and the cold-start benchmark. In Lambda (tracing on) the
  real X-Ray provider is used, unchanged.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Generator, Sequence
from typing import Any, NamedTuple

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from miles_core.config import env_str

DEFAULT_METRICS_NAMESPACE = "Miles"
_TRUTHY = frozenset({"1", "true", "t", "yes", "y", "on"})

# Routes without a business metric (health, docs) would log this on every request.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


class Observability(NamedTuple):
    """The three Powertools utilities of one function."""

    logger: Logger
    metrics: Metrics
    tracer: Tracer


class _NoOpSegment(BaseSegment):
    """A segment that records nothing (tracing is disabled)."""

    def close(self, end_time: int | None = None) -> None:
        return None

    def add_subsegment(self, subsegment: Any) -> None:
        return None

    def remove_subsegment(self, subsegment: Any) -> None:
        return None

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        return None


class NoOpTracingProvider(BaseProvider):
    """Tracer provider used when Powertools has disabled tracing; never imports the X-Ray SDK."""

    @contextlib.contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        yield _NoOpSegment()

    @contextlib.asynccontextmanager
    async def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> Any:
        yield _NoOpSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def patch(self, modules: Sequence[str]) -> None:
        return None

    def patch_all(self) -> None:
        return None


def tracing_disabled() -> bool:
    """Whether Powertools' Tracer would trace nothing here (the variables its documentation names)."""
    if (env_str("POWERTOOLS_TRACE_DISABLED") or "false").lower() in _TRUTHY:
        return True
    return env_str("LAMBDA_TASK_ROOT") is None or env_str("AWS_SAM_LOCAL") is not None


def build_tracer(service: str) -> Tracer:
    """A Powertools Tracer; X-Ray only when Powertools would actually trace."""
    if tracing_disabled():
        return Tracer(service=service, disabled=True, auto_patch=False, provider=NoOpTracingProvider())
    return Tracer(service=service)


def build_observability(service: str) -> Observability:
    """Logger, Metrics and Tracer for ``service`` (env ``POWERTOOLS_*`` settings still apply)."""
    metrics = Metrics(service=service)
    if metrics.namespace is None:
        metrics.namespace = DEFAULT_METRICS_NAMESPACE
    return Observability(Logger(service=service), metrics, build_tracer(service))
