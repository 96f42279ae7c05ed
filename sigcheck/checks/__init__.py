"""Check functions, one per rule, bound to rules/*.toml by code.

A check is ``fn(ctx, options) -> iterable of Finding``.  It says whether the
module passes, violates or cannot be judged; the engine stamps name,
severity, spec and the final status (fail or warn) from the rule's entry.

A runtime check (stage ``runtime`` or ``runtime_half``) declares the probes it
reads, ``@check("RUN504", needs=(REPEAT,))`` with constants from
``sigcheck.probes``; the runtime stage runs the union for the selected rules.
"""

from __future__ import annotations

import importlib
import os
from typing import Callable, Optional

from ..probes import validate_needs
from ..record import record

_REGISTRY: dict = {}
_NEEDS: dict = {}


def check(code: str, needs=()) -> Callable:
    """Bind the decorated function to the rule ``code`` declared in rules/*.toml;
    ``needs``: the probes (``sigcheck.probes``) its observations come from."""
    needs = validate_needs(code, needs)

    def bind(fn: Callable) -> Callable:
        if code in _REGISTRY and _REGISTRY[code] is not fn:
            raise RuntimeError(f"two checks for {code}")
        _REGISTRY[code] = fn
        _NEEDS[code] = needs
        return fn

    return bind


def registered_checks() -> dict:
    for name in _check_modules():
        importlib.import_module(f"{__name__}.{name}")
    return dict(_REGISTRY)


def _check_modules() -> list:
    """The public modules of this package (``hub.py``... and packages), listed without pkgutil:
    the static path's start-up pays for every import."""
    names = set()
    for directory in __path__:
        for entry in os.listdir(directory):
            name, dot, ext = entry.partition(".")
            if dot and ext == "py" or not dot and os.path.isfile(os.path.join(directory, entry, "__init__.py")):
                names.add(name)
    return sorted(n for n in names if not n.startswith("_") and n.isidentifier())


def registered_needs() -> dict:
    """code -> the probes its check declared (after registered_checks())."""
    return dict(_NEEDS)


@record
class Finding:
    outcome: str  # "pass" | "violation" | "skip" | "error"
    message: str
    tags: Optional[tuple] = None
    signature: Optional[str] = None
    location: Optional[str] = None
    evidence: Optional[str] = None


def passed(message: str, **where) -> Finding:
    return Finding("pass", message, **where)


def violated(message: str, **where) -> Finding:
    return Finding("violation", message, **where)


def skipped(message: str, **where) -> Finding:
    return Finding("skip", message, **where)


def location(tags: Optional[tuple], *parts: str) -> str:
    """Logical path into the module: ``tags[train]/signatures/default/inputs/images``."""
    head = [] if tags is None else [f"tags[{','.join(tags)}]"]
    return "/".join(head + [p for p in parts if p])


def could_not_check(message: str, **where) -> Finding:
    """The rule applies but could not be judged (e.g. the module was too big to run): never a pass."""
    return Finding("error", message, **where)
