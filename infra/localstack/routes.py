"""The code-side route table: every API route, which handler serves it and whether it needs a key.

``template.yaml`` declares the same routes as API events; a deploy test checks the two agree. The
local stack routes real HTTP requests with this table, so a route missing here is missing locally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from infra.localstack.handlers import PREDICT, RECOMMEND, SCRAPE_API, HandlerRef


@dataclass(frozen=True)
class Route:
    """One API Gateway resource + method, integrated with one Lambda handler (proxy integration)."""

    method: str
    """HTTP method, upper case."""
    path: str
    """Resource path template as in the template, e.g. ``/scrape/jobs/{job_id}``."""
    target: HandlerRef
    """The handler the template integrates with this route."""
    api_key_required: bool = True
    """API Gateway rejects the request with 403 unless ``x-api-key`` is a valid key."""
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters when ``method path`` hits this route, else ``None``."""
        if method != self.method:
            return None
        found = self.pattern.match(path)
        return None if found is None else found.groupdict()


ROUTES: tuple[Route, ...] = (
    Route("POST", "/predict", PREDICT),
    Route("POST", "/predict/batch", PREDICT),
    Route("GET", "/model", PREDICT),
    Route("GET", "/model/accuracy", PREDICT),
    Route("GET", "/health", PREDICT, api_key_required=False),
    Route("GET", "/docs", PREDICT, api_key_required=False),
    Route("GET", "/openapi.json", PREDICT, api_key_required=False),
    Route("GET", "/", PREDICT, api_key_required=False),
    Route("GET", "/static/{name}", PREDICT, api_key_required=False),
    Route("POST", "/scrape/jobs", SCRAPE_API),
    Route("GET", "/scrape/jobs/{job_id}", SCRAPE_API),
    Route("GET", "/candidates", SCRAPE_API),
    Route("POST", "/recommendations", RECOMMEND),
)


def find_route(method: str, path: str, routes: tuple[Route, ...] = ROUTES) -> tuple[Route, dict[str, str]] | None:
    """The route serving ``method path`` and its path parameters (API Gateway matching, no stage prefix)."""
    for route in routes:
        parameters = route.match(method, path)
        if parameters is not None:
            return route, parameters
    return None


def allowed_methods(path: str, routes: tuple[Route, ...] = ROUTES) -> list[str]:
    """The methods some route serves ``path`` with (empty: the path is unknown)."""
    return [route.method for route in routes if route.pattern.match(path)]


def route_for(method: str, path: str) -> Route:
    """The route declared for ``method`` and resource ``path`` (``KeyError`` when there is none)."""
    for route in ROUTES:
        if (route.method, route.path) == (method, path):
            return route
    raise KeyError(f"{method} {path}")
