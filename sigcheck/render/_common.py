"""What the CI renderers (junit, sarif, gitlab, markdown, github, concise) say the same way.

A result is named identically everywhere -- ``IMG302 input-dtype
[image_feature_vector]`` -- so a JUnit test case, a GitHub annotation and a
Markdown row can be matched by eye.  The module has no source lines, so every
renderer points at the file a result is about (``saved_model.pb``, or
``tfhub_module.pb`` for the module definition) inside the module as given.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re

from ..facts.model import format_tags
from ..rules import rule_by_code

NOTEWORTHY = ("fail", "warn", "error")  # the statuses CI should show; pass and skip are counted only
MODULE_FILES = ("saved_model.pb", "tfhub_module.pb")
VERDICT_LABELS = {"pass": "PASS", "fail": "FAIL", "not-applicable": "NOT AN IMAGE MODULE", "error": "ERROR",
                  "incomplete": "INCOMPLETE"}
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def scope(result) -> str:
    """Where in the module a result is: signature, tag set (when not the obvious {}), or ''."""
    parts = []
    if result.signature:
        parts.append(result.signature)
    if result.tags is not None and (result.tags or not result.signature):
        parts.append(format_tags(result.tags))
    return " ".join(parts)


def title(result) -> str:
    """``IMG302 input-dtype [image_feature_vector]``: unique within a module's results."""
    where = scope(result)
    return f"{result.rule} {result.name}" + (f" [{where}]" if where else "")


def message(result) -> str:
    """The result's message; for ``error`` saying that the rule was not judged at all."""
    if result.status == "error":
        return f"the check did not complete: {result.message}"
    return result.message


def artifact_file(result) -> str:
    """The file a result is about: the location itself when it names a file (HUB101, HUB102)."""
    return result.location if result.location in MODULE_FILES else "saved_model.pb"


def logical_location(result):
    """The path into the module (``tags[]/signatures/default/inputs/images``), or None."""
    return None if result.location in MODULE_FILES else result.location


def spec_link(result) -> str:
    """The spec section as a URL (``images#input`` -> https://www.tensorflow.org/...#input)."""
    try:
        return rule_by_code(result.rule).spec_url
    except KeyError:  # a result of a rule this sigcheck does not know: keep what it said
        return result.spec


def is_url(handle: str) -> bool:
    return bool(_URL.match(handle))


def artifact_path(module: str, filename: str = "") -> str:
    """``exports/model/saved_model.pb``: the handle as given (normalised), joined with the file.

    Archives and URLs get the same treatment (``m.tgz/saved_model.pb``): the
    extracted directory is gone by the time anyone reads the report, and the
    handle is what the user recognises.
    """
    if is_url(module):
        return "/".join(filter(None, [module.rstrip("/"), filename]))
    return posixpath.join(posixpath.normpath(module.replace(os.sep, "/")), filename).rstrip("/") or "/"


def counts(summary: dict) -> str:
    """``1 fail, 33 pass, 2 skip``: what went wrong first, zeros left out."""
    order = ("fail", "error", "warn", "pass", "skip")
    return ", ".join(f"{summary[s]} {s}" for s in order if summary.get(s)) or "no results"


def fingerprint(module: str, result) -> str:
    """Stable across runs and message rewordings, so dashboards track one alert per place."""
    key = "\0".join([result.rule, module, str(result.location), str(result.tags), str(result.signature)])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def relative_to_root(module: str, filename: str = "", root=None):
    """``exports/m/saved_model.pb``: a local module's file relative to ``root`` (default: the cwd).

    None for URLs and for paths outside ``root``: code-scanning and merge-request
    dashboards match findings to repository files by repository-relative paths,
    and an absolute path (``/tmp/...``, ``/builds/...``) never matches one."""
    if is_url(module):
        return None
    root = os.path.abspath(root or os.getcwd())
    path = os.path.abspath(os.path.join(module, filename)) if filename else os.path.abspath(module)
    try:
        relative = os.path.relpath(path, root)
    except ValueError:  # another drive on Windows
        return None
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return relative.replace(os.sep, "/")
