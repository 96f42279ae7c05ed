"""A result cache: a module's report, keyed on everything the report depends on.

A report depends only on the module's files, the sigcheck version (and its rule
files), the configuration that changes results and the TensorFlow version.  The
key hashes all of them; the module's files by content (``fingerprint.pb`` is
just another file here: trusting it alone would miss a tampered variables file).
Handles that are URLs have no key and are never cached.

Entries are JSON ``sigcheck-report/1`` documents written to a temporary file and
renamed into place, so concurrent scans sharing the directory see whole entries
or none.  An entry that does not parse, or whose key does not match, is ignored
(a miss) and overwritten by the fresh report.  Reports with an error -- the module
unreadable, a timeout, a crashed or lost worker -- are not stored: they may not
happen next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from importlib import metadata
from typing import Optional

from . import __version__
from .record import replace
from .resolve import is_archive, is_url
from .results import Report
from .rules import category_of

ENTRY_SCHEMA = "sigcheck-cache/1"
_CHUNK = 1 << 20
_TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos",
                             "tf-nightly", "tf-nightly-cpu")


def default_cache_dir() -> str:
    """``$XDG_CACHE_HOME/sigcheck/reports`` (``~/.cache/sigcheck/reports``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sigcheck", "reports")


def tensorflow_version() -> str:
    """The installed TensorFlow's version, read from package metadata: never imports it."""
    for name in _TENSORFLOW_DISTRIBUTIONS:
        try:
            return f"{name}=={metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue
    return "tensorflow: not installed"


def _rules_digest() -> str:
    """The rule files shipped with this sigcheck: a rule edited without a version bump is a miss too."""
    from .rules import rules_dir

    digest = hashlib.sha256()
    directory = rules_dir()
    for name in sorted(n for n in os.listdir(directory) if n.endswith(".toml")):
        _add_file(digest, name, os.path.join(directory, name))
    return digest.hexdigest()


def config_fingerprint(config) -> dict:
    """The settings that can change a report (not jobs, progress or where the config came from).

    The timeout is left out on purpose: only timed-out reports depend on it, and
    those carry errors, which are never cached."""
    return {
        "select": list(config.select), "ignore": list(config.ignore), "fail_on": config.fail_on,
        "static": config.static, "tags": None if config.tags is None else [list(t) for t in config.tags],
        "severities": dict(sorted(config.severities.items())),
        "options": {code: {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(opts.items())}
                    for code, opts in sorted(config.options.items())},
        "batch_sizes": list(config.batch_sizes), "max_archive_bytes": config.max_archive_bytes,
        "allow_unsafe_ops": config.allow_unsafe_ops, **({"kind": config.kind} if config.kind else {}),
    }


def content_digest(handle: str) -> Optional[str]:
    """SHA-256 over the module's files (relative paths and bytes); None if it cannot be read."""
    if is_url(handle):
        return None
    if os.path.isfile(handle) and os.path.basename(handle) == "saved_model.pb":
        handle = os.path.dirname(os.path.abspath(handle))
    digest = hashlib.sha256()
    try:
        if os.path.isfile(handle) and is_archive(handle):
            _add_file(digest, "archive", handle)
        elif os.path.isdir(handle):
            for relative in _files_under(handle):
                _add_file(digest, relative, os.path.join(handle, relative))
        else:
            return None
    except OSError:
        return None
    return digest.hexdigest()


def _files_under(root: str) -> list:
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        found.extend(os.path.relpath(os.path.join(directory, f), root) for f in files)
    return sorted(found)


def _add_file(digest, name: str, path: str) -> None:
    digest.update(name.replace(os.sep, "/").encode("utf-8", "surrogateescape") + b"\0")
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        digest.update(size.to_bytes(8, "little"))
        while chunk := f.read(_CHUNK):
            digest.update(chunk)


class ReportCache:
    """Reports stored under ``directory/ab/abcdef....json``, one file per key."""

    def __init__(self, directory: str, config):
        self.directory = directory
        self._settings = json.dumps({
            "sigcheck": __version__, "rules": _rules_digest(), "tensorflow": tensorflow_version(),
            "config": config_fingerprint(config),
        }, sort_keys=True)

    def key(self, handle: str) -> Optional[str]:
        """The key of ``handle``'s report, or None when it cannot be cached (URL, unreadable path)."""
        content = content_digest(handle)
        if content is None:
            return None
        return hashlib.sha256(f"{self._settings}\0{content}".encode()).hexdigest()

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], f"{key}.json")

    def get(self, handle: str, key: Optional[str]) -> Optional[Report]:
        """The stored report for ``key``, relabelled for ``handle``; None on a miss or a damaged entry."""
        report = self._load(key) if key is not None else None
        if report is None:
            return None
        facts = dict(report.facts)
        if os.path.isdir(handle):
            facts["directory"] = handle
        elif os.path.basename(handle) == "saved_model.pb":
            facts["directory"] = os.path.dirname(os.path.abspath(handle))
        return replace(report, module=handle, facts=facts)

    def _load(self, key: str) -> Optional[Report]:
        try:
            with open(self._path(key), encoding="utf-8") as f:
                entry = json.load(f)
            if entry.get("schema") != ENTRY_SCHEMA or entry.get("key") != key:
                return None
            return Report.from_json(entry["report"], category_of)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # missing, half-written by a crashed older version, or tampered: a miss

    def put(self, key: Optional[str], report: Report) -> None:
        """Store ``report`` atomically; reports with errors and unkeyed ones are skipped."""
        if key is None or not cacheable(report):
            return
        path = self._path(key)
        text = json.dumps({"schema": ENTRY_SCHEMA, "key": key, "report": report.to_json()})
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".entry-", dir=os.path.dirname(path))
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(text)
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            pass  # a full disk or a read-only cache costs speed, never a report


def cacheable(report: Report) -> bool:
    return report.error is None and not any(r.status == "error" for r in report.results)
