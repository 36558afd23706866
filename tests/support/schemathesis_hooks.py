"""schemathesis hooks for the API contract run (``SCHEMATHESIS_HOOKS=tests.support.schemathesis_hooks``).

One hook, one job: a request the schema calls valid may still be refused by a rule the schema
cannot state, and that refusal is the API working, not a contract bug. Exactly these refusals are
dropped from "schema-valid request rejected" (ST202), each recognised by the error ``type`` the API
answers with, so any other rejection still fails the run:

* ``cross_field`` / ``timestamp_range`` (``miles_core.api.schemas.predict.RULES_BEYOND_THE_SCHEMA``):
  likes <= views, views need ``published_at``, nothing in the future, a timestamp whose UTC form
  leaves years 1-9999. The field descriptions state them.
* ``int_type`` on a JSON number with an integral value (``5.0``): JSON Schema counts it as an
  integer, Miles refuses it on purpose (counts are JSON integers).
* ``invalid_cursor``: ``cursor`` is an opaque token only a previous page can produce.
"""

from __future__ import annotations

import re
from typing import Any

import schemathesis

from miles_core.api.schemas.predict import RULES_BEYOND_THE_SCHEMA

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _value_at(body: Any, field: str) -> Any:
    """The value a JSON path such as ``items[2].view_count`` names in ``body`` (``None`` if absent)."""
    value = body
    for name, index in _PART.findall(field):
        try:
            value = value[int(index)] if index else value[name]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _beyond_the_schema(error: dict[str, Any], body: Any) -> bool:
    kind = error.get("type")
    if kind in RULES_BEYOND_THE_SCHEMA or kind == "invalid_cursor":
        return True
    value = _value_at(body, str(error.get("field", "")))
    return kind == "int_type" and isinstance(value, float) and value.is_integer()


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure except a schema-valid request refused only by the rules above."""
    if getattr(failure, "code", None) != "ST202":
        return True
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return True
    body = case.body if isinstance(case.body, dict) else {}
    return not (errors and all(_beyond_the_schema(error, body) for error in errors))
