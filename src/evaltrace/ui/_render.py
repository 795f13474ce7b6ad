"""HTML from the templates, for the server and the self-contained report alike.

The report inlines the same CSS and JS the server links to, so both show the same page.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib.resources import files
from typing import Any

import jinja2

from .. import __version__
from ._security import report_csp

__all__ = ["STATIC", "asset", "render"]

STATIC = files("evaltrace.ui") / "static"
TEMPLATES = files("evaltrace.ui") / "templates"
ASSETS = ("uPlot.min.css", "evaltrace.css", "uPlot.iife.min.js", "evaltrace.js")


def asset(name: str) -> str:
    """A shipped static file's text; the vendored banner's URL is kept out of reports."""
    text = (STATIC / name).read_text(encoding="utf-8")
    if name == "uPlot.iife.min.js" and text.startswith("/*!"):
        text = "/*! uPlot (MIT licence, Leon Sorokin): see NOTICE */" + text[text.index("*/") + 2 :]
    return text


def _plain(value: Any) -> Any:
    """Chart data as strict JSON: non-finite numbers become null (uPlot draws a gap)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _chart_json(charts: Any) -> str:
    text = json.dumps(_plain(charts), allow_nan=False, ensure_ascii=False)
    # Inside <script>: no "</" can close the element early.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (TEMPLATES / name).read_text(encoding="utf-8")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["chart_json"] = _chart_json
    env.globals["version"] = __version__
    return env


def render(template: str, *, inline: bool = False, **context: Any) -> str:
    """Render ``template``; ``inline`` puts every asset into the page (no URL to load)."""
    assets = {name: asset(name) for name in ASSETS} if inline else {}
    csp = (
        report_csp(
            [assets[n] for n in ASSETS if n.endswith(".js")],
            [assets[n] for n in ASSETS if n.endswith(".css")],
        )
        if inline
        else ""
    )
    return (
        _environment()
        .get_template(template)
        .render(inline=inline, assets=assets, csp=csp, **context)
    )
