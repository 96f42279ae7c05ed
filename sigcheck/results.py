"""Results, reports, verdicts and exit codes: the public JSON contract.

JSON shape (schema ``sigcheck-report/1``; fields may be added, never renamed)::

    {"schema", "module", "verdict", "error", "facts", "results": [...], "summary"}
"""

from __future__ import annotations

import json
from typing import Optional

from . import __version__
from .record import field, record
from .vocabulary import SEVERITIES, STATUSES, spec_url

SCHEMA = "sigcheck-report/1"
FAIL_ON = SEVERITIES

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_UNREADABLE = 2
EXIT_INCOMPLETE = 4  # no violation found, but some checks could not complete (timeout, killed worker...)
# Which exit code wins when a run has several: violations over "could not check".
_EXIT_RANK = (EXIT_OK, EXIT_INCOMPLETE, EXIT_VIOLATIONS, EXIT_UNREADABLE)


@record
class Result:
    rule: str
    name: str
    severity: str
    status: str
    message: str
    spec: str
    tags: Optional[tuple] = None  # the tag set the result is about, or None
    signature: Optional[str] = None
    location: Optional[str] = None  # logical path, e.g. tags[]/signatures/default/inputs/images
    evidence: Optional[str] = None  # which half found it, a measured figure, ...
    # The rule's category (``security``...), stamped by the engine for renderers; not in the JSON.
    category: Optional[str] = field(default=None, compare=False)

    @property
    def spec_url(self) -> str:
        """The spec section as a URL; a section this sigcheck does not know stays as written."""
        try:
            return spec_url(self.spec)
        except KeyError:
            return self.spec

    def to_json(self) -> dict:
        return {
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity,
            "status": self.status,
            "tags": None if self.tags is None else list(self.tags),
            "signature": self.signature,
            "message": self.message,
            "spec": self.spec,
            "location": self.location,
            "evidence": self.evidence,
        }

    @classmethod
    def from_json(cls, data: dict, category_of=None) -> "Result":
        """``category_of(code)`` gives a result read back (cache, --resume) its rule's category again,
        as if the engine had stamped it (the category is not in the JSON)."""
        tags = data.get("tags")
        return cls(rule=data["rule"], name=data["name"], severity=data["severity"], status=data["status"],
                   message=data["message"], spec=data["spec"], tags=None if tags is None else tuple(tags),
                   signature=data.get("signature"), location=data.get("location"), evidence=data.get("evidence"),
                   category=category_of(data["rule"]) if category_of else None)


@record
class ErrorInfo:
    type: str
    message: str


@record
class Report:
    module: str  # the handle as given
    results: tuple = ()
    facts: dict = field(default_factory=dict)
    error: Optional[ErrorInfo] = None
    image_module: bool = True
    fail_on: str = "error"
    # Wall-clock seconds the check took (None: not timed, e.g. from the result cache).
    # Not part of the JSON contract, so a cached report reads back identical.
    seconds: Optional[float] = field(default=None, compare=False)

    @property
    def summary(self) -> dict:
        counts = dict.fromkeys(STATUSES, 0)
        for result in self.results:
            counts[result.status] += 1
        return counts

    @property
    def failing(self) -> tuple:
        """Results that make the verdict fail under ``fail_on``."""
        bad = ("fail", "error", "warn") if self.fail_on == "warning" else ("fail", "error")
        return tuple(r for r in self.results if r.status in bad)

    @property
    def verdict(self) -> str:
        """``incomplete``: nothing violates, but some checks could not complete
        (their results are ``error``); a violation anywhere makes it ``fail``."""
        if self.error is not None:
            return "error"
        failing = self.failing
        if any(r.status != "error" for r in failing):
            return "fail"
        if failing:
            return "incomplete"
        return "pass" if self.image_module else "not-applicable"

    @property
    def ok(self) -> bool:
        """True when the module conforms (or is not an image module): nothing fails under ``fail_on``."""
        return self.verdict in ("pass", "not-applicable")

    def __iter__(self):
        """The results, in rule order."""
        return iter(self.results)

    @property
    def exit_code(self) -> int:
        return {"error": EXIT_UNREADABLE, "fail": EXIT_VIOLATIONS,
                "incomplete": EXIT_INCOMPLETE}.get(self.verdict, EXIT_OK)

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA,
            "tool": {"name": "sigcheck", "version": __version__},
            "module": self.module,
            "verdict": self.verdict,
            "error": None if self.error is None else {"type": self.error.type, "message": self.error.message},
            "fail_on": self.fail_on,
            "facts": self.facts,
            "results": [r.to_json() for r in self.results],
            "summary": self.summary,
        }

    @classmethod
    def from_json(cls, data: dict, category_of=None) -> "Report":
        """The Report a ``sigcheck-report/1`` document was rendered from (cache, --resume).

        Raises ValueError for anything else, so a damaged document is never trusted."""
        try:
            if data["schema"] != SCHEMA:
                raise ValueError(f"schema {data['schema']!r}, not {SCHEMA!r}")
            error = data["error"]
            report = cls(
                module=data["module"],
                results=tuple(Result.from_json(r, category_of) for r in data["results"]),
                facts=data["facts"],
                error=None if error is None else ErrorInfo(error["type"], error["message"]),
                image_module=data["verdict"] != "not-applicable",
                fail_on=data["fail_on"],
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a sigcheck-report/1 document ({type(exc).__name__}: {exc})") from None
        if report.verdict != data["verdict"] or report.fail_on not in FAIL_ON:
            raise ValueError("not a sigcheck-report/1 document (its verdict does not follow from its results)")
        return report

    def to_dict(self) -> dict:
        """The ``sigcheck-report/1`` document as plain data (what ``--format json`` prints)."""
        return self.to_json()

    def to_json_text(self, indent: int = 2) -> str:
        return json.dumps(self.to_json(), indent=indent)


def worse_exit_code(*codes: int) -> int:
    """The code a run with these per-module codes exits with (violations beat "could not check")."""
    return max(codes, key=_EXIT_RANK.index, default=EXIT_OK)


def worst_exit_code(reports) -> int:
    return worse_exit_code(*(r.exit_code for r in reports))
