"""Renderers: ``name -> render(reports, **options) -> str``.

Every renderer takes the list of reports of one run (usually one) and returns
the whole document as text.  Modules are imported only when their format is
asked for, so that only the terminal renderer ever imports rich.
"""

from __future__ import annotations

import importlib

FORMATS = {
    "rich": "terminal",
    "json": "json_report",
    "jsonl": "jsonl",
    "junit": "junit",
    "sarif": "sarif",
    "markdown": "markdown",
    "github": "github",
    "concise": "concise",
    "gitlab": "gitlab",
}


def renderer(name: str):
    """The render function of format ``name``."""
    return importlib.import_module(f"{__name__}.{FORMATS[name]}").render
