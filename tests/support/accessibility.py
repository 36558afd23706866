"""Accessibility checks of a live page in Playwright: axe-core's rules and WCAG's non-text contrast.

axe-core (vendored in ``tests/support/axe``, see its README) is evaluated through the DevTools protocol,
which the page's Content-Security-Policy does not govern: the page itself stays as strict as it ships.
axe checks text contrast (WCAG 1.4.3) but not the contrast of input borders (1.4.11), so
:func:`low_contrast_borders` measures those from the computed styles.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tests.support.paths import REPO_ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE_JS = REPO_ROOT / "tests" / "support" / "axe" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
NON_TEXT_CONTRAST = 3.0
"""WCAG 2.1 AA 1.4.11: user-interface components against what is next to them."""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of impact serious or critical on the page as it is now (all its default rules)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document, { resultTypes: ['violations'] })")
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]],
        }
        for violation in result["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]


def _channel(value: float) -> float:
    value /= 255
    return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4


def _luminance(css_color: str) -> float:
    red, green, blue = (float(part) for part in re.findall(r"[\d.]+", css_color)[:3])
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two computed CSS colours (``rgb(r, g, b)``)."""
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


_BORDERS_JS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter((node) => node.offsetParent !== null)
  .map((node) => {
    let around = node.parentElement;
    while (around && getComputedStyle(around).backgroundColor === 'rgba(0, 0, 0, 0)') around = around.parentElement;
    return { id: node.id, border: getComputedStyle(node).borderTopColor,
             around: around ? getComputedStyle(around).backgroundColor : 'rgb(255, 255, 255)' };
  })"""


def low_contrast_borders(page: Page) -> list[tuple[str, float]]:
    """Visible form controls whose border has less than 3:1 against the background around them."""
    found = []
    for control in page.evaluate(_BORDERS_JS):
        ratio = contrast(control["border"], control["around"])
        if ratio < NON_TEXT_CONTRAST:
            found.append((control["id"], round(ratio, 2)))
    return found
