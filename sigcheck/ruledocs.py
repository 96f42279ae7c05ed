"""Rule documentation generated from rules/*.toml: docs/rules.md and `sigcheck explain`.

Every rule gets the same sections, in the spirit of ruff's rule pages:
what it checks, why, the spec section, a passing and a failing example, and
its options with their defaults.
"""

from __future__ import annotations

import json

from .rules import load_rules

HEADER = """# sigcheck rules

Generated from `rules/*.toml` by `python -m sigcheck.ruledocs > docs/rules.md`;
a test fails when this file is out of date. Codes and names are stable: they
are never renumbered or renamed.

Severity `error` makes a violation `fail`; `warning` makes it `warn` (which
fails the run only with `--fail-on warning`). Stage `static` rules read the
protobufs only; `runtime` rules run real inference (skipped with `--static`);
`static + runtime half` rules also judge what inference showed when it ran.
"""


def _option_text(value) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def rule_markdown(rule) -> str:
    lines = [
        f"## {rule.code} {rule.name}",
        "",
        f"**{rule.summary}**",
        "",
        f"- Category: {rule.category} · Severity: {rule.severity} · Stage: {_stage_text(rule)} · "
        f"Applies to: {_scope_text(rule.scope)}",
        f"- Spec: [{rule.spec}]({rule.spec_url})",
        f"- Formats: {', '.join(rule.formats)}" + (f" · TF2 text API: {rule.api}" if rule.api else ""),
        "",
        "### Why",
        "",
        rule.why,
        "",
        "### Passes",
        "",
        "```text",
        rule.example_pass,
        "```",
        "",
        "### Fails",
        "",
        "```text",
        rule.example_fail,
        "```",
        "",
    ]
    if rule.options:
        lines += ["### Options", ""]
        for key, value in rule.options.items():
            lines.append(f"- `{key}` (default: `{_option_text(value)}`)")
        lines.append("")
    return "\n".join(lines)


def _stage_text(rule) -> str:
    return f"{rule.stage} + runtime half" if rule.runtime_half else rule.stage


def _scope_text(scope: str) -> str:
    return {"module": "the module's files", "graph": "every module with a meta graph",
            "image": "image modules", "text": "text modules"}[scope]


def rules_markdown(rules=None) -> str:
    rules = rules or load_rules()
    table = ["| Code | Name | Severity | Stage | Summary |", "|---|---|---|---|---|"]
    for rule in rules:
        anchor = f"{rule.code.lower()}-{rule.name}"
        table.append(f"| [{rule.code}](#{anchor}) | {rule.name} | {rule.severity} | {_stage_text(rule)} | "
                     f"{rule.summary} |")
    return "\n".join([HEADER, *table, "", *(rule_markdown(r) for r in rules)]).rstrip() + "\n"


def rule_text(rule) -> str:
    """Plain text for `sigcheck explain CODE`."""
    lines = [
        f"{rule.code} {rule.name} ({rule.severity}; {_stage_text(rule)} check; category {rule.category})",
        "",
        rule.summary,
        "",
        "Why:",
        _indent(rule.why),
        "",
        f"Spec: {rule.spec_url}",
        f"Formats: {', '.join(rule.formats)}" + (f" (TF2 text API: {rule.api})" if rule.api else ""),
        f"Check: {check_location(rule)}",
        "",
        "Passes:",
        _indent(rule.example_pass),
        "",
        "Fails:",
        _indent(rule.example_fail),
    ]
    if rule.options:
        lines += ["", "Options (set in [tool.sigcheck.options." + rule.code + "]):"]
        for key, value in rule.options.items():
            lines.append(f"  {key} = {_option_text(value)}")
    return "\n".join(lines) + "\n"


def check_location(rule) -> str:
    """``sigcheck/checks/img.py:input_dtype``: where the rule's check function lives."""
    return f"{rule.check.__module__.replace('.', '/')}.py:{rule.check.__qualname__}"


def _indent(text: str) -> str:
    return "\n".join("  " + line if line else "" for line in text.splitlines())


if __name__ == "__main__":
    import sys

    sys.stdout.write(rules_markdown())
