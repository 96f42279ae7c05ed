"""JSON Lines: one ``sigcheck-report/1`` object per line, written as each module finishes.

The format for registry scans: a consumer can read reports while the scan runs,
a scan of any size never holds all its reports, and an interrupted scan keeps
every line it wrote (``--resume FILE`` carries on from them).
"""

from __future__ import annotations

import json


def line(report) -> str:
    """One report, one line (no newline inside: JSON escapes them)."""
    return json.dumps(report.to_json(), separators=(",", ":")) + "\n"


def render(reports, **_options) -> str:
    return "".join(line(r) for r in reports)
