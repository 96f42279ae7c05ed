"""The result of ``sigcheck diff``: interface differences, behaviour, verdict, exit code.

JSON shape (schema ``sigcheck-diff/1``, sigcheck/schemas/sigcheck-diff-1.json;
fields may be added, never renamed or given another meaning)."""

from __future__ import annotations

from dataclasses import dataclass

from .behaviour import Behaviour
from .interface import BREAKING, COMPATIBLE

SCHEMA = "sigcheck-diff/1"
EXIT_SAME, EXIT_DIFFERS = 0, 1


@dataclass(frozen=True)
class DiffReport:
    old: str
    new: str
    differences: tuple  # of interface.Difference
    behaviour: Behaviour
    old_facts: dict  # the report's facts summary of each module
    new_facts: dict

    @property
    def breaking(self) -> list:
        return [d for d in self.differences if d.classification == BREAKING]

    @property
    def compatible(self) -> list:
        return [d for d in self.differences if d.classification == COMPATIBLE]

    @property
    def verdict(self) -> str:
        """"breaking", "behaviour-changed", "compatible" (only compatible differences) or "same"."""
        if self.breaking:
            return "breaking"
        if self.behaviour.findings:
            return "behaviour-changed"
        return "compatible" if self.differences else "same"

    @property
    def exit_code(self) -> int:
        return EXIT_DIFFERS if self.verdict in ("breaking", "behaviour-changed") else EXIT_SAME

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA,
            "old": {"module": self.old, "facts": self.old_facts},
            "new": {"module": self.new, "facts": self.new_facts},
            "verdict": self.verdict,
            "interface": [d.to_json() for d in self.differences],
            "behaviour": self.behaviour.to_json(),
            "summary": {"breaking": len(self.breaking), "compatible": len(self.compatible),
                        "behaviour_findings": len(self.behaviour.findings)},
            "exit_code": self.exit_code,
        }
