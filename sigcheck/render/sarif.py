"""SARIF 2.1.0, for GitHub code scanning and other static-analysis dashboards.

Layout decisions:

* **One run for all modules.**  GitHub code scanning rejects files with several
  runs of one tool in the same category, and a single run keeps one rule
  table.  Results tell modules apart by their artifact URI
  (``exports/model/saved_model.pb``).
* **Every rule is in ``tool.driver.rules``**, selected or not, so ``ruleIndex``
  is stable and a dashboard can document rules that have never fired.
* **Only what needs attention is a result:** ``fail`` (level ``error``),
  ``warn`` (``warning``) and ``error`` (``error``, the message says the check
  did not complete).  Passes and skips are not findings -- SARIF would need
  ``kind: notApplicable`` with level ``none``, which dashboards show as noise
  or drop -- so they are only counted, per module, in ``runs[0].properties``.
* **Locations:** the module has no source lines, so the physical location is
  the file a result is about (region: line 1, the whole file -- GitHub drops
  results without a region) and the logical location is the path into it
  (``tags[]/signatures/default/inputs/images``).  Local paths are made
  relative to a base -- ``--sarif-root DIR``, by default where sigcheck ran,
  normally the repository root -- declared in ``originalUriBaseIds`` as
  ``SRCROOT``: code scanning matches alerts to repository-relative paths, never
  to ``file:///tmp/...``.  Only a path outside the base stays a ``file://`` URI.
* **Rules carry the run's severity:** ``defaultConfiguration.level`` is the
  configured severity (``severity = { IMG302 = "warning" }`` gives
  ``warning``), and security rules (SEC6xx) carry ``security-severity`` so
  GitHub files their alerts as security alerts.
* **An unreadable module** is not a rule violation: it is an error
  ``toolExecutionNotification`` and ``executionSuccessful: false``.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
from urllib.parse import quote

from .. import __version__
from ..results import worst_exit_code
from ..rules import load_rules
from ..vocabulary import NOTEWORTHY, SPEC_URLS, message, scope
from ._common import artifact_file, artifact_path, fingerprint, is_remote, logical_location, relative_to_root

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
# sigcheck has no home page of its own yet: point at the conventions it enforces.
INFORMATION_URI = SPEC_URLS["images"]
# The file as a whole: a protobuf has no lines, but GitHub only displays results with a region.
FILE_REGION = {"startLine": 1}
_LEVELS = {"fail": "error", "warn": "warning", "error": "error"}
BASE_ID = "SRCROOT"
# GitHub code scanning: 7.0-8.9 is "high".  A module that can touch files or call out when loaded is.
SECURITY_SEVERITY = "8.0"


def render(reports, sarif_root=None, **_options) -> str:
    rules = load_rules()
    index = {rule.code: i for i, rule in enumerate(rules)}
    root = os.path.abspath(sarif_root or os.getcwd())
    results = [_result(report, result, index, root) for report in reports for result in report.results
               if result.status in NOTEWORTHY]
    severities = configured_severities(reports)
    unreadable = [r for r in reports if r.error is not None]
    run = {
        "tool": {"driver": {
            "name": "sigcheck",
            "version": __version__,
            "semanticVersion": __version__,
            "informationUri": INFORMATION_URI,
            "rules": [_rule(rule, severities.get(rule.code, rule.severity)) for rule in rules],
        }},
        "originalUriBaseIds": {BASE_ID: {"uri": pathlib.Path(root).as_uri().rstrip("/") + "/"}},
        "invocations": [{
            "executionSuccessful": not unreadable,
            "exitCode": worst_exit_code(reports),
            "toolExecutionNotifications": [_unreadable(r, root) for r in unreadable],
        }],
        "results": results,
        "properties": {"modules": [
            {"module": r.module, "verdict": r.verdict, "summary": r.summary}
            for r in reports]},
    }
    document = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2) + "\n"


def configured_severities(reports) -> dict:
    """code -> the severity its results carry in this run, where all modules agree on one."""
    seen: dict = {}
    for report in reports:
        for result in report.results:
            seen.setdefault(result.rule, set()).add(result.severity)
    return {code: next(iter(values)) for code, values in seen.items() if len(values) == 1}


def _rule(rule, severity: str) -> dict:
    why = unwrap(rule.why)
    text = (f"{rule.summary}\n\n{why}\n\nPasses:\n{rule.example_pass}\n\nFails:\n{rule.example_fail}\n\n"
            f"Spec: {rule.spec_url}")
    markdown = (f"{rule.summary}\n\n{why}\n\n**Passes**\n\n```text\n{rule.example_pass}\n```\n\n"
                f"**Fails**\n\n```text\n{rule.example_fail}\n```\n\n[Specification]({rule.spec_url})")
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": why},
        "helpUri": rule.spec_url,
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": "error" if severity == "error" else "warning"},
        "properties": _rule_properties(rule),
    }


def _rule_properties(rule) -> dict:
    if rule.category != "security":
        return {"tags": [rule.category]}
    return {"tags": [rule.category], "security-severity": SECURITY_SEVERITY}


def unwrap(text: str) -> str:
    """Join the hard-wrapped lines of a rules/*.toml paragraph; keep the paragraphs."""
    return re.sub(r"(?<!\n)\n(?!\n)", " ", text)


def _result(report, result, index, root) -> dict:
    path = logical_location(result)
    location = {"physicalLocation": {"artifactLocation": artifact_location(report.module, artifact_file(result), root),
                                     "region": FILE_REGION}}
    if path:
        location["logicalLocations"] = [{"name": path.rsplit("/", 1)[-1], "fullyQualifiedName": path,
                                         "kind": _kind(path)}]
    text, where = message(result), scope(result)
    entry = {"ruleId": result.rule, "level": _LEVELS[result.status],
             "message": {"text": f"{text} [{where}]" if where and where not in text else text},
             "locations": [location],
             "partialFingerprints": {"sigcheckResult/v1": fingerprint(report.module, result)},
             "properties": {k: v for k, v in result.to_json().items()
                            if k in ("status", "tags", "signature", "evidence") and v is not None}}
    if result.rule in index:
        entry["ruleIndex"] = index[result.rule]
    return entry


def _kind(path: str) -> str:
    """A tag set's graph, collections or signature map is a "module"; a signature a
    "function"; its inputs and outputs "member"s."""
    parts = path.split("/")
    if len(parts) <= 2 or parts[1] != "signatures":
        return "module"
    return "function" if len(parts) == 3 else "member"


def artifact_location(module: str, filename: str, root: str) -> dict:
    """Relative to ``SRCROOT`` when the file is under the base; else an absolute or URL URI."""
    relative = relative_to_root(module, filename, root)
    if relative is None:
        return {"uri": uri(module, filename)}
    return {"uri": quote(relative, safe="/"), "uriBaseId": BASE_ID}


def uri(module: str, filename: str = "") -> str:
    """A URI reference for ``filename`` in ``module``: percent-encoded, relative if the handle was."""
    if is_remote(module):
        return quote(artifact_path(module, filename), safe=":/?#[]@!$&'()*+,;=%~")
    if os.path.isabs(module):
        return pathlib.Path(module, filename).as_uri()
    return quote(artifact_path(module, filename), safe="/")


def _unreadable(report, root) -> dict:
    return {
        "level": "error",
        "message": {"text": f"could not be read ({report.error.type}): {report.error.message}"},
        "locations": [{"physicalLocation": {"artifactLocation": artifact_location(report.module, "", root)}}],
    }
