"""``--statistics``: how often each rule was violated, instead of the report (as ruff does).

Text: one line per rule, ``count<TAB>code<TAB>name``, the most frequent first;
with ``--format json`` a list of ``{"code", "name", "count"}``.  Counted are
the results that need attention (fail, warn, error) over every module of the
run; a run without findings prints nothing (``[]`` in JSON).
"""

from __future__ import annotations

import json

from ..vocabulary import NOTEWORTHY


def counts(reports) -> list:
    """``[(code, name, count)]``, most frequent first, then by code."""
    found: dict = {}
    for report in reports:
        for result in report.results:
            if result.status in NOTEWORTHY:
                code, name = result.rule, result.name
                found[(code, name)] = found.get((code, name), 0) + 1
    return sorted(((code, name, n) for (code, name), n in found.items()), key=lambda row: (-row[2], row[0]))


def render(reports, as_json: bool = False) -> str:
    rows = counts(reports)
    if as_json:
        return json.dumps([{"code": c, "name": name, "count": n} for c, name, n in rows], indent=2) + "\n"
    width = max((len(str(n)) for _, _, n in rows), default=1)
    return "".join(f"{n:>{width}}\t{code}\t{name}\n" for code, name, n in rows)
