"""The code-side route table: every API route, which function serves it and whether it needs a key.

``template.yaml`` declares the same routes as API events; a deploy test checks the two agree. The
local stack routes real HTTP requests with this table, so a route missing here is missing locally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"


@dataclass(frozen=True)
class Route:
    """One API Gateway resource + method, integrated with one Lambda handler (proxy integration)."""

    method: str
    """HTTP method, upper case."""
    path: str
    """Resource path template as in the template, e.g. ``/scrape/jobs/{job_id}``."""
    function: str
    """Logical function name: the folder under ``functions/`` (``predict``, ``scrape``, ``recommend``)."""
    handler: str = "app.handler"
    """``file_stem.callable`` inside the function folder, as in the template's ``ImageConfig.Command``."""
    api_key_required: bool = True
    """API Gateway rejects the request with 403 unless ``x-api-key`` is a valid key."""
    functions_dir: Path = field(default=FUNCTIONS_DIR, repr=False, compare=False)
    """Where function folders live (tests point it at a scratch folder)."""
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))

    @property
    def module(self) -> str:
        """Dotted module of the handler, e.g. ``functions.predict.app``."""
        return f"functions.{self.function}.{self.handler.rsplit('.', 1)[0]}"

    @property
    def handler_file(self) -> Path:
        """The handler's source file (it sits at the Lambda task root in the image)."""
        return self.functions_dir / self.function / f"{self.handler.rsplit('.', 1)[0]}.py"

    @property
    def handler_name(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters when ``method path`` hits this route, else ``None``."""
        if method != self.method:
            return None
        found = self.pattern.match(path)
        return None if found is None else found.groupdict()


ROUTES: tuple[Route, ...] = (
    Route("POST", "/predict", "predict"),
    Route("POST", "/predict/batch", "predict"),
    Route("GET", "/model", "predict"),
    Route("GET", "/health", "predict", api_key_required=False),
    Route("GET", "/docs", "predict", api_key_required=False),
    Route("GET", "/openapi.json", "predict", api_key_required=False),
    Route("POST", "/scrape/jobs", "scrape"),
    Route("GET", "/scrape/jobs/{job_id}", "scrape"),
    Route("GET", "/candidates", "scrape"),
    Route("POST", "/recommendations", "recommend"),
)


def find_route(method: str, path: str, routes: tuple[Route, ...] = ROUTES) -> tuple[Route, dict[str, str]] | None:
    """The route serving ``method path`` and its path parameters (API Gateway matching, no stage prefix)."""
    for route in routes:
        parameters = route.match(method, path)
        if parameters is not None:
            return route, parameters
    return None
