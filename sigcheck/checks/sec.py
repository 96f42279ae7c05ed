"""SEC601: what would execute at load and inference time is on an allowlist.

The analysis (what executes, what is allowed, the restore-path proof) is
``sigcheck.analysis.execution``; this turns its hazards into results.
"""

from __future__ import annotations

from ..analysis.execution import SHOWN_PATHS, Hazard, unsafe_ops
from ..facts.model import format_tags
from . import check, location, passed, violated


@check("SEC601")
def no_unsafe_ops(ctx, options):
    for meta in ctx.facts.meta_graphs:
        where = {"tags": meta.tags, "location": location(meta.tags, "graph")}
        found = unsafe_ops(meta, options)
        if not found:
            yield passed(f"{format_tags(meta.tags)}: everything that runs uses allowlisted ops", **where)
            continue
        unsafe = [f for f in found if f.problem is None and f.reason is None]
        if unsafe:
            ops = sorted({f.op for f in unsafe})
            yield violated(
                f"{format_tags(meta.tags)}: op(s) {', '.join(ops)} would execute but are not on the allowlist "
                f"of pure compute and variable ops; e.g. {unsafe[0].op} on the path {_shown(unsafe[0])}",
                evidence=f"{len(unsafe)} node(s)", **where)
        for reading in [f for f in found if f.reason is not None][:SHOWN_PATHS]:
            yield violated(
                f"{format_tags(meta.tags)}: a file read that is not the module's own asset would execute: "
                f"{reading.reason} (path {_shown(reading)})", evidence="file access", **where)
        for problem in [f for f in found if f.problem is not None][:SHOWN_PATHS]:
            kind = "the graph is malformed" if problem.op is None else "the restore path is not a plain restore"
            yield violated(
                f"{format_tags(meta.tags)}: {kind}, so it is not run: {problem.problem}"
                + (f" (path {_shown(problem)})" if problem.path else ""), **where)


def _shown(finding: Hazard) -> str:
    return " <- ".join(finding.path) if finding.path else finding.where
