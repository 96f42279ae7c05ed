"""JSON: one report object, or ``{"schema": "sigcheck-reports/1", "reports": [...]}`` for several.

``sigcheck scan`` always gives the ``sigcheck-reports/1`` shape (``scan=True``),
even when it finds a single module: a script reading a scan's output must not
depend on how many modules the directory happens to hold."""

from __future__ import annotations

import json

from ..results import worst_exit_code

MULTI_SCHEMA = "sigcheck-reports/1"


def render(reports, scan: bool = False, **_options) -> str:
    if len(reports) == 1 and not scan:
        document = reports[0].to_json()
    else:
        verdicts = {}
        for report in reports:
            verdicts[report.verdict] = verdicts.get(report.verdict, 0) + 1
        document = {
            "schema": MULTI_SCHEMA,
            "reports": [r.to_json() for r in reports],
            "summary": {"modules": len(reports), "verdicts": verdicts, "exit_code": worst_exit_code(reports)},
        }
    return json.dumps(document, indent=2) + "\n"
