"""One line per finding, for grep, editors' quickfix lists and reading logs.

``exports/m: {}/default: IMG302 input-dtype: 'images' is uint8, expected float32``
-- the shape of ruff's ``concise`` and yamllint's ``parsable`` output: where,
what, why.  Only what needs attention is listed (fail, warn, and checks that
did not complete); a conforming module prints nothing, so ``wc -l`` counts
findings.  A ``warn`` says ``warning:`` before its message, since it does not
fail the run by default.
"""

from __future__ import annotations

from ..vocabulary import NOTEWORTHY, escape_newlines, message, tag_set
from ._common import artifact_path


def where(result) -> str:
    """``{}/default``: the tag set and signature a result is about; ``module`` for the module as a whole."""
    parts = []
    if result.tags is not None:
        parts.append(tag_set(result.tags))
    if result.signature:
        parts.append(result.signature)
    return "/".join(parts) or "module"


def line(module: str, result) -> str:
    text = message(result)
    if result.status == "warn":
        text = f"warning: {text}"
    return escape_newlines(f"{artifact_path(module)}: {where(result)}: {result.rule} {result.name}: {text}")


def render(reports, **_options) -> str:
    lines = []
    for report in reports:
        if report.error is not None:
            lines.append(escape_newlines(f"{artifact_path(report.module)}: could not be read ({report.error.type}): "
                                        f"{report.error.message}"))
        lines += [line(report.module, r) for r in report.results if r.status in NOTEWORTHY]
    return "".join(f"{text}\n" for text in lines)

