"""``sigcheck diff`` as text (the terminal), JSON (``sigcheck-diff/1``) or Markdown (a pull-request comment)."""

from __future__ import annotations

import json

from .report import DiffReport

VERDICTS = {
    "same": "same interface, same behaviour",
    "compatible": "compatible: only additions or relaxations",
    "breaking": "BREAKING: existing consumers break or silently change meaning",
    "behaviour-changed": "BEHAVIOUR CHANGED: same interface, outputs beyond the thresholds",
}


def _metric_text(metrics: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())


def render_text(report: DiffReport) -> str:
    lines = [f"sigcheck diff {report.old} -> {report.new}", ""]
    lines.append(f"Interface: {len(report.breaking)} breaking, {len(report.compatible)} compatible")
    for d in report.differences:
        lines.append(f"  {d.classification.upper():10} {d.path}: {d.reason}")
    b = report.behaviour
    lines.append("")
    if not b.ran or not b.outputs:
        lines.append(f"Behaviour: not compared ({b.reason})")
    else:
        lines.append(f"Behaviour: {len(b.outputs)} shared output(s) on {len(b.images)} synthetic images, "
                     f"{len(b.findings)} finding(s)")
        for o in b.outputs:
            status = "FINDING" if o.findings else "SKIP" if o.skipped else "OK"
            lines.append(f"  {status:10} {o.signature}/{o.key}: {o.skipped or _metric_text(o.metrics)}")
            lines += [f"             {f}" for f in o.findings]
    lines += ["", f"Verdict: {VERDICTS[report.verdict]}"]
    return "\n".join(lines) + "\n"


def render_json(report: DiffReport) -> str:
    return json.dumps(report.to_json(), indent=2, allow_nan=False, default=str) + "\n"


def render_markdown(report: DiffReport) -> str:
    icon = {"same": "✅", "compatible": "✅", "breaking": "❌", "behaviour-changed": "⚠️"}[report.verdict]
    lines = [f"### {icon} sigcheck diff: {VERDICTS[report.verdict]}", "",
             f"`{report.old}` → `{report.new}`", ""]
    if report.differences:
        lines += ["| | Where | Reason |", "|---|---|---|"]
        lines += [f"| {d.classification} | `{d.path}` | {d.reason} |" for d in report.differences]
    else:
        lines.append("No interface differences.")
    b = report.behaviour
    lines.append("")
    if not b.ran or not b.outputs:
        lines.append(f"Behaviour not compared: {b.reason}.")
    else:
        lines += [f"Behaviour on {len(b.images)} synthetic images:", "",
                  "| Output | Metrics | Findings |", "|---|---|---|"]
        lines += [f"| `{o.signature}/{o.key}` | {o.skipped or _metric_text(o.metrics)} | "
                  f"{'<br>'.join(o.findings) or 'none'} |" for o in b.outputs]
    return "\n".join(lines) + "\n"


FORMATS = {"text": render_text, "rich": render_text, "json": render_json, "markdown": render_markdown}
