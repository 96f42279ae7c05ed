"""GitLab Code Quality report (``artifacts: reports: codequality``).

A JSON array of issues, each with ``description``, ``check_name``,
``fingerprint``, ``severity`` and ``location.path``/``location.lines.begin``
-- the subset of the Code Climate spec GitLab reads.  GitLab shows an issue
in a merge request only when ``location.path`` is a path in the repository,
so local modules are made relative to ``--sarif-root`` (default: the working
directory, which in a GitLab job is the checkout); the module has no lines,
so ``begin`` is 1.  The fingerprint is the one SARIF uses: stable across runs
and rewordings, different for every place, which is how GitLab tells new
issues from fixed ones.

Severity: a violated ``error`` rule is ``major``, a security rule's (SEC6xx)
``critical``; a ``warn`` is ``minor``; a check that did not complete is
``info`` (nothing was judged); a module that could not be read is ``blocker``.
Passes and skips are not issues.
"""

from __future__ import annotations

import hashlib
import json

from ..vocabulary import NOTEWORTHY, message, scope
from ._common import artifact_file, artifact_path, fingerprint, relative_to_root


def severity(result) -> str:
    if result.status == "warn":
        return "minor"
    if result.status == "error":
        return "info"
    return "critical" if result.category == "security" else "major"


def path(module: str, filename: str, root) -> str:
    return relative_to_root(module, filename, root) or artifact_path(module, filename)


def render(reports, sarif_root=None, **_options) -> str:
    issues = []
    for report in reports:
        if report.error is not None:
            key = "\0".join(["unreadable", report.module]).encode("utf-8")
            issues.append(_issue(f"could not be read ({report.error.type}): {report.error.message}",
                                 "sigcheck/unreadable", hashlib.sha256(key).hexdigest()[:32], "blocker",
                                 path(report.module, "", sarif_root)))
        for result in report.results:
            if result.status in NOTEWORTHY:
                where = scope(result)
                text = f"{result.rule} {result.name}: {message(result)}" + (f" [{where}]" if where else "")
                issues.append(_issue(text, result.rule, fingerprint(report.module, result), severity(result),
                                     path(report.module, artifact_file(result), sarif_root)))
    return json.dumps(issues, indent=2) + "\n"


def _issue(description, check_name, print_, level, location) -> dict:
    return {"description": description, "check_name": check_name, "fingerprint": print_, "severity": level,
            "location": {"path": location, "lines": {"begin": 1}}}
