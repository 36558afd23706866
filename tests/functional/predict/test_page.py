"""The creator page: served by the predict function, public, with the right types and a strict CSP."""

from __future__ import annotations

from typing import Any

from tests.support.events import json_event, lambda_context
from tests.support.paths import REPO_ROOT

STATIC = REPO_ROOT / "functions" / "predict" / "static"


def _get(app: Any, path: str) -> dict[str, Any]:
    result: dict[str, Any] = app.handler(json_event("GET", path), lambda_context("predict"))
    return result


def _header(result: dict[str, Any], name: str) -> str:
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    multi = {k.lower(): v for k, v in (result.get("multiValueHeaders") or {}).items()}
    value = headers.get(name.lower()) or (multi.get(name.lower()) or [""])[0]
    return str(value)


def test_page_and_its_files_have_types_and_a_strict_csp(predict_app: Any) -> None:
    page = _get(predict_app, "/")
    assert page["statusCode"] == 200
    assert _header(page, "content-type").startswith("text/html")
    assert '<script type="module" src="static/app.js">' in page["body"]
    csp = _header(page, "content-security-policy")
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    scripts = [(path.name, "text/javascript") for path in sorted(STATIC.glob("*.js"))]
    assert {"app.js", "api.js", "render.js"} <= {name for name, _ in scripts}
    for name, kind in (*scripts, ("app.css", "text/css")):
        asset = _get(predict_app, f"/static/{name}")
        assert asset["statusCode"] == 200
        assert _header(asset, "content-type").startswith(kind)
    assert _get(predict_app, "/static/secrets.py")["statusCode"] == 404
    assert _get(predict_app, "/static/index.html")["statusCode"] == 404


def test_page_scripts_never_write_html() -> None:
    """Scraped titles are untrusted: the scripts build nodes and text only."""
    for path in STATIC.glob("*.js"):
        script = path.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in script, f"{path.name} uses {sink}"
