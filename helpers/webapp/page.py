"""The web app's page: one HTML file, no external assets, pointed at an API URL."""

from __future__ import annotations

import json
from pathlib import Path

TEMPLATE = Path(__file__).with_name("index.html")
PLACEHOLDER = '"__API_URL__"'


def render_page(api_url: str) -> str:
    """The page, calling ``api_url`` (absolute, or relative to where the page is served)."""
    # json.dumps gives a safe JavaScript string literal; "</" is escaped so it cannot end the script.
    literal = json.dumps(api_url).replace("</", "<\\/")
    return TEMPLATE.read_text(encoding="utf-8").replace(PLACEHOLDER, literal)


def write_page(path: str | Path, api_url: str) -> Path:
    """Save the page for ``api_url``, e.g. to open from disk against an API Gateway URL."""
    path = Path(path)
    path.write_text(render_page(api_url), encoding="utf-8")
    return path
