"""GitHub-flavoured Markdown, for pull-request comments and ``$GITHUB_STEP_SUMMARY``.

A reviewer wants the verdict and what to fix, not 34 passing rows: each
module gets a heading with its verdict, one line of facts, a table of only
the results that need attention (fail, warn, error) and a count line.  Skips
stay out of the table too (a text module would otherwise list every image
rule); the count line says how many there were.  Several modules start with
a summary table so the worst one is visible without scrolling.

Cells are escaped for tables (``|``, newlines) and for HTML (``<``, ``>``,
``&``), because GitHub would otherwise swallow ``<unknown>`` as a tag.
"""

from __future__ import annotations

import re

from ..vocabulary import NOTEWORTHY, STATUSES, VERDICT_LABELS, VERDICT_ORDER, counts, tag_set

_COLUMNS = ("Status", "Rule", "Name", "Tag set", "Signature", "Message")


def render(reports, **_options) -> str:
    sections = []
    if len(reports) > 1:
        sections.append(_overview(reports))
    sections.extend(_module(report) for report in reports)
    return "\n\n".join(sections) + "\n"


def cell(value) -> str:
    """Plain text for a table cell: one line, no column breaks, no HTML."""
    text = "" if value is None else str(value)
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"),
                         ("\r\n", "<br>"), ("\n", "<br>"), ("\r", "<br>")):
        text = text.replace(raw, escaped)
    return text


def code(value) -> str:
    """An inline code span, fenced by more backticks than the value holds in a row."""
    text = " ".join(str(value).splitlines())
    runs = re.findall("`+", text)
    fence = "`" * (max(map(len, runs), default=0) + 1)
    padding = " " if runs else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def code_cell(value) -> str:
    """A code span in a table: only ``|`` needs escaping (entities would show literally)."""
    return code(value).replace("|", "\\|")


def _row(values) -> str:
    return "| " + " | ".join(values) + " |"


def _table(header, rows) -> str:
    lines = [_row(header), _row("---" for _ in header)]
    lines.extend(_row(row) for row in rows)
    return "\n".join(lines)


def _overview(reports) -> str:
    worst = max(reports, key=lambda r: VERDICT_ORDER.index(r.verdict))
    rows = [[code_cell(r.module), VERDICT_LABELS[r.verdict], *(str(r.summary[s]) for s in r.summary)]
            for r in reports]
    return (f"## sigcheck: {VERDICT_LABELS[worst.verdict]} ({len(reports)} modules)\n\n"
            + _table(("Module", "Verdict", *(s.capitalize() for s in STATUSES)), rows))


def _module(report) -> str:
    heading = f"### {VERDICT_LABELS[report.verdict]}: {code(report.module)}"
    if report.error is not None:
        return f"{heading}\n\nThe module could not be read ({report.error.type}): {cell(report.error.message)}"
    parts = [heading, _facts(report.facts)]
    rows = [[r.status.upper(), r.rule, r.name, cell("" if r.tags is None else tag_set(r.tags)),
             cell(r.signature), cell(r.message)] for r in report.results if r.status in NOTEWORTHY]
    if rows:
        parts.append(_table(_COLUMNS, rows))
    parts.append(f"sigcheck: {counts(report.summary)}")
    return "\n\n".join(parts)


def _facts(facts: dict) -> str:
    size = facts.get("image_size")
    n = facts.get("num_outputs")
    items = [
        cell(" ".join(filter(None, (facts.get("module_format"), facts.get("format", "unknown format"))))),
        "tag sets " + (", ".join(code(tag_set(t)) for t in facts.get("tag_sets", [])) or "none"),
        "image size " + (f"{size['height']}x{size['width']}" if size else "unknown"),
        f"N = {n if n is not None else 'unknown'}",
    ]
    return " · ".join(items)
