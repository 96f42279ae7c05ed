"""The terminal report (rich): module summary, results grouped by signature, verdict.

Readable without colour: statuses are words, not just colours, so NO_COLOR,
pipes and CI logs lose nothing.
"""

from __future__ import annotations

import io
import os

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..vocabulary import (COUNTED_ONLY, NOTEWORTHY, STATUSES, VERDICT_LABELS, about_file, compact_tag_set, counts,
                          tag_set)

STYLES = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim", "error": "bold magenta"}
VERDICT_TEXT = {  # verdict -> (style, meaning); the label is VERDICT_LABELS'
    "pass": ("bold green", "the module follows the Common Signatures for Images"),
    "fail": ("bold red", "the module violates the conventions"),
    "not-applicable": ("bold yellow", "no image signature: image rules were skipped"),
    "error": ("bold magenta", "the module could not be read"),
    "incomplete": ("bold magenta", "no violation found, but some checks could not complete"),
}


def render(reports, *, color: bool = False, width: int = None, details: bool = False, **_options) -> str:
    """One module: its findings, and counts of the rest.  Several: a summary
    table with a row per module, then what needs attention in each.
    ``details`` shows every result, passes included."""
    buffer = io.StringIO()
    width = width or int(os.environ.get("COLUMNS", "0") or 0) or 100
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width,
                      highlight=False, emoji=False)
    if len(reports) == 1:
        for part in render_report(reports[0], details=details):
            console.print(part)
        return buffer.getvalue()
    console.print(summary_table(reports))
    for report in reports:
        if details:
            console.rule(report.module)
            for part in render_report(report, details=True):
                console.print(part)
        elif report.error is None and any(r.status in NOTEWORTHY for r in report.results):
            console.rule(report.module)
            console.print(results_table(report, only=NOTEWORTHY))
    return buffer.getvalue()


def render_report(report, details: bool = True) -> list:
    if report.error is not None:
        return [Text.assemble((f"{report.module}: ", "bold"), ("ERROR ", "bold magenta"), report.error.message)]
    if details:
        return [header(report), results_table(report), verdict_line(report)]
    parts = [header(report)]
    if any(r.status in NOTEWORTHY for r in report.results):
        parts.append(results_table(report, only=NOTEWORTHY))
    if any(report.summary[s] for s in COUNTED_ONLY):
        hidden = counts(report.summary, COUNTED_ONLY)
        parts.append(Text(f"Not shown: {hidden} (--details lists every rule)", style="dim"))
    return parts + [verdict_line(report)]


def header(report) -> Table:
    facts = report.facts
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    size = facts.get("image_size")
    size_text = "unknown"
    if size:
        source = "ImageModuleInfo" if facts.get("image_size_source") == "image_module_info" else "input shape"
        size_text = f"{size['height']}x{size['width']} (from {source})"
    rows = [
        ("Module", report.module),
        ("Format", _format_text(facts)),
        ("Tag sets", ", ".join(tag_set(t) for t in facts.get("tag_sets", [])) or "none"),
        ("Kind", facts.get("kind", "?")),
        ("Image signatures", ", ".join(facts.get("image_signatures", [])) or "none (not an image module)"),
        ("Image size", size_text),
        ("Outputs (N)", str(facts.get("num_outputs") if facts.get("num_outputs") is not None else "unknown")),
    ]
    if facts.get("sandbox"):
        rows.append(("Sandbox", facts["sandbox"]))
    if facts.get("directory") and facts["directory"] != report.module:
        rows.insert(1, ("Resolved to", facts["directory"]))
    for key, value in rows:
        table.add_row(key, Text(str(value)))
    return table


def _format_text(facts: dict) -> str:
    """``tf1-hub, FORMAT_V3`` / ``tf2-saved-model, kind image``: the module format first."""
    saved_as = facts.get("module_format")
    if saved_as is None:
        return facts.get("format", "?")
    if facts.get("tf2"):
        return f"{saved_as}, kind {facts['tf2']['kind']}"
    return f"{saved_as}, {facts.get('format', '?')}"


def _group_key(result) -> str:
    if result.signature:
        return f"signature {result.signature}"
    if result.tags is not None and not about_file(result):
        return "tag set " + tag_set(result.tags)
    return "module"


def _group_order(report):
    """module first, then tag sets in file order, then signatures in image order."""
    # Positions looked up in dicts, not lists: a result per tag set would make list.index quadratic.
    tag_sets = {}
    for tags in report.facts.get("tag_sets", []):
        tag_sets.setdefault(tuple(tags), len(tag_sets))
    signatures = {}
    for name in report.facts.get("image_signatures", []):
        signatures.setdefault(name, len(signatures))

    def key(result):
        group = _group_key(result)
        if group.startswith("tag set"):
            return (1, tag_sets.get(tuple(result.tags), len(tag_sets)))
        if group.startswith("signature"):
            return (2, signatures.get(result.signature, len(signatures)))
        return (0, 0)

    return key


def results_table(report, only=None) -> Group:
    """One table per group (module, tag set, signature), columns aligned across them."""
    shown = [r for r in report.results if only is None or r.status in only]
    groups: dict = {}
    for result in sorted(shown, key=_group_order(report)):
        groups.setdefault(_group_key(result), []).append(result)
    name_width = max([len(r.name) for r in shown] + [len("99 rules")])  # room for a folded skip row
    tables = []
    for group, results in groups.items():
        table = Table(title=Text(group, style="bold cyan"), title_justify="left", box=box.SIMPLE_HEAD,
                      expand=True, show_edge=False, pad_edge=False, show_header=not tables)
        table.add_column("Status", no_wrap=True, width=6)
        table.add_column("Rule", no_wrap=True, width=6)
        table.add_column("Name", no_wrap=True, width=name_width)
        table.add_column("Tags", no_wrap=True, width=7)
        table.add_column("Message", ratio=1)
        for status, codes, names, tags, message in _rows(results):
            table.add_row(Text(status.upper(), style=STYLES[status]), codes, names, tags, Text(message))
        tables.append(table)
    return Group(*tables)


def _rows(results) -> list:
    """Table rows; consecutive skips with the same reason fold into one row."""
    rows = []
    for result in results:
        tags = "" if result.tags is None else compact_tag_set(result.tags)
        previous = rows[-1] if rows else None
        if previous and result.status == "skip" == previous[0] and previous[4] == result.message:
            previous[1].append(result.rule)
            continue
        rows.append([result.status, [result.rule], result.name, tags, result.message])
    shaped = []
    for status, codes, name, tags, message in rows:
        if len(codes) > 1:
            shaped.append((status, "", f"{len(codes)} rules", tags, f"{message} ({', '.join(codes)})"))
        else:
            shaped.append((status, codes[0], name, tags, message))
    return shaped


def verdict_line(report) -> Text:
    style, meaning = VERDICT_TEXT[report.verdict]
    if report.verdict == "pass" and report.facts.get("module_format") == "tf2-saved-model":
        meaning = "the model follows the Reusable SavedModel API" + {
            "image": " and the Common SavedModel APIs for Image Tasks",
            "text": " and the Common SavedModel APIs for Text"}.get(report.facts.get("kind"), "")
    elif report.verdict == "pass" and report.facts.get("kind") == "text":
        meaning = "the module follows the Common Signatures for Text"
    elif report.verdict == "not-applicable" and report.facts.get("kind") == "other":
        meaning = "neither an image nor a text module: image and text rules were skipped"
    detail = counts(report.summary, STATUSES, none="")
    note = ""
    if report.fail_on == "warning" and report.summary["warn"]:
        note = " (--fail-on warning)"
    return Text.assemble((VERDICT_LABELS[report.verdict], style), f": {meaning}{note} — {detail}")


def summary_table(reports) -> Group:
    table = Table(title="sigcheck: one row per module", title_justify="left", box=box.SIMPLE_HEAD,
                  show_edge=False)
    table.add_column("Module", overflow="fold", ratio=1)  # a path is folded, never cut to "…/sav…"
    table.add_column("Verdict", no_wrap=True)
    for status in STATUSES:
        table.add_column(status, justify="right", no_wrap=True)
    errors = []
    for report in reports:
        label, style = VERDICT_LABELS[report.verdict], VERDICT_TEXT[report.verdict][0]
        if report.error is not None:  # its message goes under the table, not into the count columns
            table.add_row(report.module, Text(label, style=style), "", "", "", "", "")
            errors.append(Text.assemble((f"{report.module}: ", "bold"), ("ERROR ", style), report.error.message))
        else:
            table.add_row(report.module, Text(label, style=style), *(str(report.summary[s]) for s in STATUSES))
    verdicts = [r.verdict for r in reports]
    line = ", ".join(f"{verdicts.count(v)} {VERDICT_LABELS[v].lower()}" for v in VERDICT_TEXT if v in verdicts)
    sandboxes = sorted({r.facts["sandbox"] for r in reports if r.facts.get("sandbox")})
    if sandboxes:  # only modules that ran had one
        line += f"; sandbox: {' / '.join(sandboxes)}"
    return Group(table, *errors, Text(f"{len(reports)} modules: {line}"))
