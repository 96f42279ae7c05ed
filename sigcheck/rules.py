"""Rule metadata from ``rules/*.toml`` -- the one place a rule is declared.

A rule's check function is bound by its code (``@check("IMG302")`` in
``sigcheck/checks``); loading fails loudly when an entry has no check, a check
has no entry, or an entry is malformed, so nothing is registered twice by hand
and nothing can silently go missing.
"""

from __future__ import annotations

import os
import re
import sys
import zlib
from functools import lru_cache
from types import MappingProxyType
from typing import Callable, Mapping

from .bundled import rules_dir
from .facts.tf2 import FORMATS, TF1_FORMATS, TF2_TEXT_APIS
from .record import record
from .vocabulary import SEVERITIES, SPEC_URLS, spec_url

STAGES = ("static", "runtime")
# module: needs only the files; graph: needs a meta graph; image: an image module; text: a text module
SCOPES = ("module", "graph", "image", "text")
CODE_RE = re.compile(r"^[A-Z]{3}[1-9]\d\d$")
NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
REQUIRED = ("code", "name", "category", "severity", "stage", "scope", "summary", "why", "spec",
            "example_pass", "example_fail")
OPTIONAL = ("options", "runtime_half", "formats", "api")


@record
class Rule:
    code: str
    name: str
    category: str
    severity: str
    stage: str
    scope: str
    summary: str
    why: str
    spec: str
    example_pass: str
    example_fail: str
    options: Mapping
    source: str  # the toml file it came from
    check: Callable = None
    runtime_half: bool = False  # a static rule that also judges runtime observations when the module ran
    needs: tuple = ()  # probes (sigcheck.probes) its check reads, declared by @check(..., needs=)
    # The module formats (facts.tf2.FORMATS) it judges; rules written for the TF1 Hub format by default.
    formats: tuple = TF1_FORMATS
    # The TF2 text API (facts.tf2.TF2_TEXT_APIS) it judges in a TF2 SavedModel; "" for every model.
    api: str = ""

    @property
    def uses_runtime(self) -> bool:
        """Whether selecting this rule makes sigcheck run the module."""
        return self.stage == "runtime" or self.runtime_half

    @property
    def spec_url(self) -> str:
        return spec_url(self.spec)


class RuleDefinitionError(Exception):
    """rules/*.toml is inconsistent: a bug in sigcheck, not in the user's input."""


@lru_cache(maxsize=None)
def load_rules() -> tuple:
    """All rules, sorted by code, each bound to its check function."""
    from .checks import registered_checks, registered_needs

    checks = registered_checks()
    needs = registered_needs()
    try:
        directory = rules_dir()
    except FileNotFoundError as exc:
        raise RuleDefinitionError(str(exc)) from None
    rules = {}
    for filename in sorted(n for n in os.listdir(directory) if n.endswith(".toml")):
        with open(os.path.join(directory, filename), "rb") as f:
            document = _parsed(f.read(), filename)
        for entry in document.get("rule", []):
            rule = _rule_from_entry(entry, filename)
            if rule.code in rules:
                raise RuleDefinitionError(f"{filename}: {rule.code} is declared twice")
            if rule.code not in checks:
                raise RuleDefinitionError(f"{filename}: {rule.code} has no @check function in sigcheck/checks")
            if needs[rule.code] and not rule.uses_runtime:
                raise RuleDefinitionError(f"{filename}: {rule.code} is static but its check needs probes")
            rules[rule.code] = Rule(**{**rule.__dict__, "check": checks[rule.code], "needs": needs[rule.code]})
    orphans = sorted(set(checks) - set(rules))
    if orphans:
        raise RuleDefinitionError(f"checks without a rules/*.toml entry: {', '.join(orphans)}")
    names = [r.name for r in rules.values()]
    if len(set(names)) != len(names):
        raise RuleDefinitionError("two rules share a name")
    return tuple(rules[code] for code in sorted(rules, key=code_order))


def _parsed(content: bytes, filename: str) -> dict:
    """The TOML document ``content``: from sigcheck/ruletable.py when it holds this exact content
    (keyed by CRC-32), else parsed.  The table spares every run importing tomllib and parsing ~80 kB
    (~0.01 s of a static check's start-up); a stale table is only slower, never wrong
    (tests/test_docs.py keeps it fresh: ``python -m sigcheck.rules > sigcheck/ruletable.py``)."""
    from .ruletable import TABLE

    cached = TABLE.get(filename)
    if cached is not None and cached[0] == zlib.crc32(content):
        return cached[1]
    return _toml(content, filename)


def _toml(content: bytes, filename: str) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RuleDefinitionError(f"{filename}: not valid TOML ({exc})") from None


def ruletable_source() -> str:
    """The text of sigcheck/ruletable.py for the rules/*.toml files as they are now."""
    directory = rules_dir()
    lines = ['"""rules/*.toml parsed, keyed by file name: (CRC-32 of the file, document).',
             "",
             "Generated by ``python -m sigcheck.rules > sigcheck/ruletable.py``; do not edit.  rules.load_rules",
             "uses an entry only when its CRC matches the file, so a stale entry costs a parse, never a wrong rule.",
             '"""', "", "TABLE = {"]
    for filename in sorted(n for n in os.listdir(directory) if n.endswith(".toml")):
        with open(os.path.join(directory, filename), "rb") as f:
            content = f.read()
        document = _toml(content, filename)
        _literal_only(document, filename)
        lines.append(f"    {filename!r}: ({zlib.crc32(content)}, {document!r}),")
    return "\n".join(lines + ["}", ""])


def _literal_only(value, filename: str) -> None:
    """A document repr() writes as a Python literal: no dates or times (TOML has them; rules do not)."""
    if isinstance(value, dict):
        for item in value.values():
            _literal_only(item, filename)
    elif isinstance(value, list):
        for item in value:
            _literal_only(item, filename)
    elif not isinstance(value, (str, bool, int, float)):
        raise RuleDefinitionError(f"{filename}: {type(value).__name__} values are not supported in rules")


def _rule_from_entry(entry: dict, source: str) -> Rule:
    missing = [k for k in REQUIRED if k not in entry]
    unknown = [k for k in entry if k not in REQUIRED + OPTIONAL]
    code = entry.get("code", "?")
    if missing or unknown:
        raise RuleDefinitionError(f"{source}: {code}: missing {missing} / unknown {unknown} keys")
    checks = [
        (CODE_RE.match(code), "code must look like IMG302"),
        (NAME_RE.match(entry["name"]), "name must be kebab-case"),
        (entry["severity"] in SEVERITIES, f"severity must be one of {SEVERITIES}"),
        (entry["stage"] in STAGES, f"stage must be one of {STAGES}"),
        (entry["scope"] in SCOPES, f"scope must be one of {SCOPES}"),
        (entry["spec"].partition("#")[0] in SPEC_URLS, f"spec must start with one of {sorted(SPEC_URLS)}"),
        ("\n" not in entry["summary"].strip(), "summary must be one line"),
    ]
    for ok, why in checks:
        if not ok:
            raise RuleDefinitionError(f"{source}: {code}: {why}")
    if not isinstance(entry.get("runtime_half", False), bool) or (entry.get("runtime_half") and entry["stage"] != "static"):
        raise RuleDefinitionError(f"{source}: {code}: runtime_half is a boolean for static rules")
    formats = entry.get("formats", list(TF1_FORMATS))
    if not isinstance(formats, list) or not formats or any(f not in FORMATS for f in formats):
        raise RuleDefinitionError(f"{source}: {code}: formats must be a non-empty list of {FORMATS}")
    if entry.get("api", "") not in ("",) + TF2_TEXT_APIS:
        raise RuleDefinitionError(f"{source}: {code}: api must be one of {TF2_TEXT_APIS}")
    fields = {k: (entry[k].strip() if isinstance(entry[k], str) else entry[k]) for k in REQUIRED}
    return Rule(**fields, options=MappingProxyType(dict(entry.get("options", {}))), source=source,
                runtime_half=entry.get("runtime_half", False), formats=tuple(formats),
                api=entry.get("api", ""))


def code_order(code: str) -> tuple:
    """HUB1xx, SIG2xx, IMG3xx, OUT4xx, RUN5xx, SEC6xx: the digits give the order."""
    return (code[3:], code)


def rule_by_code(code: str) -> Rule:
    for rule in load_rules():
        if code.upper() == rule.code or code.lower() == rule.name:
            return rule
    raise KeyError(code)


def category_of(code: str):
    """The category of the rule ``code``, or None for a code this version does not know."""
    try:
        return rule_by_code(code).category
    except KeyError:
        return None


def matches(code: str, patterns) -> bool:
    """``--select``/``--ignore`` semantics: a code or a prefix of codes (IMG, OUT40)."""
    return any(code.startswith(p.upper()) for p in patterns)


if __name__ == "__main__":
    sys.stdout.write(ruletable_source())
