"""Find a function's handler the way Lambda does: its folder plus the template's handler string.

``template.yaml`` names each function by a Dockerfile under ``functions/<folder>/`` and an
``ImageConfig.Command`` such as ``scorer.handler``; the image copies the folder's files flat into
the task root, so that command means ``functions/<folder>/scorer.py: handler``. A
:class:`HandlerRef` holds exactly those two strings (a deploy test compares them with the
template), and :func:`load_handler` imports the file as Lambda imports it from the task root.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class HandlerRef:
    """A Lambda handler as the template states it: function folder + ``module.callable``."""

    function: str
    """The folder under ``functions/`` (``predict``, ``scrape``, ``recommend``): the image."""
    handler: str = "app.handler"
    """``ImageConfig.Command`` (or the Dockerfile's CMD): ``file_stem.callable`` at the task root."""
    functions_dir: Path = field(default=FUNCTIONS_DIR, repr=False, compare=False)
    """Where function folders live (tests point it at a scratch folder)."""

    @property
    def module(self) -> str:
        """The name the handler module gets in this process, e.g. ``functions.predict.app``.

        One process hosts every function, so the flat Lambda name (``app``) is namespaced by folder.
        """
        return f"functions.{self.function}.{self.handler.rsplit('.', 1)[0]}"

    @property
    def handler_file(self) -> Path:
        """The handler's source file (it sits at the Lambda task root in the image)."""
        return self.functions_dir / self.function / f"{self.handler.rsplit('.', 1)[0]}.py"

    @property
    def handler_name(self) -> str:
        return self.handler.rsplit(".", 1)[1]


PREDICT = HandlerRef("predict", "app.handler")
SCORER = HandlerRef("predict", "scorer.handler")
SCRAPE_API = HandlerRef("scrape", "app.handler")
SCRAPE_WORKER = HandlerRef("scrape", "worker.handler")
RECOMMEND = HandlerRef("recommend", "app.handler")


def _load_module(ref: HandlerRef) -> ModuleType:
    existing = sys.modules.get(ref.module)
    if existing is not None:
        return existing
    spec = importlib.util.spec_from_file_location(ref.module, ref.handler_file)
    if spec is None or spec.loader is None or not ref.handler_file.is_file():
        raise FileNotFoundError(f"handler file {ref.handler_file} not found")
    module = importlib.util.module_from_spec(spec)
    sys.modules[ref.module] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[ref.module]
        raise
    return module


def load_handler(ref: HandlerRef) -> Handler:
    """The handler callable; its module is imported once per process (Lambda's init phase)."""
    handler = getattr(_load_module(ref), ref.handler_name, None)
    if not callable(handler):
        raise AttributeError(f"{ref.handler_file} defines no callable {ref.handler_name!r}")
    loaded: Handler = handler
    return loaded
