"""The subcommands besides checking: ``sigcheck rules`` and ``sigcheck explain CODE``."""

from __future__ import annotations

import json
import sys

from .errors import UsageError
from .rules import load_rules, rule_by_code


def rules(fmt: str = "text") -> int:
    """List every rule: code, name, severity, stage, summary."""
    all_rules = load_rules()
    if fmt == "json":
        document = [
            {"code": r.code, "name": r.name, "category": r.category, "severity": r.severity, "stage": r.stage,
             "runtime_half": r.runtime_half,
             "scope": r.scope, "summary": r.summary, "spec": r.spec, "spec_url": r.spec_url,
             "options": dict(r.options)}
            for r in all_rules
        ]
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    elif fmt == "markdown":
        from .ruledocs import rules_markdown

        sys.stdout.write(rules_markdown(all_rules))
    else:
        width = max(len(r.name) for r in all_rules)
        for r in all_rules:
            stage = "static+runtime" if r.runtime_half else r.stage
            sys.stdout.write(f"{r.code}  {r.name:<{width}}  {r.severity:<7}  {stage:<14}  {r.summary}\n")
    return 0


def explain(names) -> int:
    """Print one rule's documentation: ``names`` holds its code or name."""
    from .ruledocs import rule_text

    if len(names) != 1:
        raise UsageError("usage: sigcheck explain CODE (e.g. sigcheck explain IMG302 or input-dtype)")
    try:
        rule = rule_by_code(names[0])
    except KeyError:
        codes = ", ".join(r.code for r in load_rules())
        raise UsageError(f"unknown rule {names[0]!r}; known: {codes}") from None
    sys.stdout.write(rule_text(rule))
    return 0
