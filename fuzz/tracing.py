"""Line and arc coverage of sigcheck's own code, with sys.settrace (stdlib only).

The builtin engine keeps an input when it executes an arc (a pair of
consecutive lines in one frame) of sigcheck that no earlier input did; the
end-of-run report gives the share of executable lines of the static path
that the corpus reached.  Only frames of files under sigcheck/ are traced,
so protobuf and the standard library cost nothing.
"""

from __future__ import annotations

import importlib.util
import os
import sys

# Found without importing sigcheck: the coverage replay starts tracing before sigcheck is imported,
# so that lines run at import time (definitions) count, as in coverage.py.
PACKAGE = os.path.dirname(os.path.abspath(importlib.util.find_spec("sigcheck").origin))
# The code the static path can reach in-process, by the part of sigcheck it belongs to.
STATIC_PARTS = {
    "facts": ("facts",),
    "checks": ("checks",),
    "render": ("render",),
    "core": ("api.py", "engine.py", "results.py", "rules.py", "config.py", "resolve.py", "errors.py",
             os.path.join("runtime", "stage.py")),
}


class ArcTracer:
    """``with tracer:`` records arcs of sigcheck code into ``tracer.arcs`` (file, from line, to line)."""

    def __init__(self, root: str = PACKAGE):
        self.root = root
        self.arcs: set = set()

    def _call(self, frame, event, arg):
        filename = frame.f_code.co_filename
        if not filename.startswith(self.root):
            return None
        arcs, last = self.arcs, -frame.f_code.co_firstlineno

        def local(frame, event, arg):
            nonlocal last
            if event == "line":
                line = frame.f_lineno
                arcs.add((filename, last, line))
                last = line
            return local

        return local

    def __enter__(self):
        self.arcs = set()
        sys.settrace(self._call)
        return self

    def __exit__(self, *exc):
        sys.settrace(None)
        return False


def executable_lines(path: str) -> set:
    """Line numbers that hold code in the module at ``path``."""
    with open(path, encoding="utf-8") as f:
        code = compile(f.read(), path, "exec")
    lines, stack = set(), [code]
    while stack:
        current = stack.pop()
        lines.update(line for _, _, line in current.co_lines() if line is not None)
        stack.extend(c for c in current.co_consts if hasattr(c, "co_lines"))
    return lines


def static_files() -> dict:
    """part -> paths of the files of the static path."""
    parts = {}
    for part, entries in STATIC_PARTS.items():
        paths = []
        for entry in entries:
            full = os.path.join(PACKAGE, entry)
            if os.path.isdir(full):
                paths += sorted(os.path.join(full, n) for n in os.listdir(full) if n.endswith(".py"))
            else:
                paths.append(full)
        parts[part] = paths
    return parts


def line_coverage(arcs) -> dict:
    """part -> (lines reached, executable lines), plus "total", for the static path."""
    reached: dict = {}
    for filename, _, line in arcs:
        reached.setdefault(filename, set()).add(line)
    report, total_hit, total_all = {}, 0, 0
    for part, paths in static_files().items():
        hit = every = 0
        for path in paths:
            lines = executable_lines(path)
            hit += len(lines & reached.get(path, set()))
            every += len(lines)
        report[part] = (hit, every)
        total_hit, total_all = total_hit + hit, total_all + every
    report["total"] = (total_hit, total_all)
    return report


def format_coverage(report: dict) -> str:
    return ", ".join(f"{part} {hit}/{every} ({100 * hit / max(every, 1):.1f}%)"
                     for part, (hit, every) in report.items())
