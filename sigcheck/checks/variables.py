"""HUB105: the checkpoint restores into every tag set's graph, as hub.Module restores it.

The static half pairs the graph's variable ops with ``variables/variables.index``
(names, dtypes, shapes) the way hub.Module does: only GLOBAL_VARIABLES are
restored, under their op name or a partitioned variable's full name.  The
runtime half is the proof (TensorFlow restores the checkpoint); it can add a
failure but never turns a static failure into a pass.
"""

from __future__ import annotations

from ..facts.model import format_shape, format_tags
from . import Finding, check, location, passed, skipped, violated

_SHOWN = 3


@check("HUB105")
def variables(ctx, options):
    for meta in ctx.facts.meta_graphs:
        run = ctx.observations.for_tags(meta.tags) if ctx.observations is not None else None
        where = {"tags": meta.tags, "location": location(meta.tags, "variables")}
        static = static_variables(ctx.facts, meta, where)
        if run is None or static.outcome == "violation":
            yield static
        elif run.variables_error:
            yield violated(f"{format_tags(meta.tags)}: the checkpoint in variables/ does not restore into the "
                           f"graph: {run.variables_error}", evidence="restore", **where)
        elif run.load_error:
            yield skipped(f"{format_tags(meta.tags)}: the graph itself could not be loaded (see RUN501)", **where)
        elif run.variables:
            yield passed(f"{format_tags(meta.tags)}: restored {run.variables} variable(s) from variables/",
                         evidence="restore", **where)
        else:
            yield passed(f"{format_tags(meta.tags)}: the graph has no variables", evidence="restore", **where)


def static_variables(facts, meta, where) -> Finding:
    """The static half for one tag set."""
    tags = format_tags(meta.tags)
    found = meta.variables
    if not found:
        return passed(f"{tags}: the graph has no variables", evidence="static", **where)
    outside = [v.name for v in found if not v.in_collection]
    if outside:
        return violated(
            f"{tags}: {len(outside)} of {len(found)} variable(s) are not in the GLOBAL_VARIABLES collection "
            f"({_names(outside)}); hub.Module restores only that collection, so they would stay uninitialised",
            evidence="static", **where)
    if not facts.has_variables:
        return violated(f"{tags}: the graph has {len(found)} variable(s) but variables/variables.index is missing",
                        evidence="static", **where)
    if facts.checkpoint_problem:
        return violated(f"{tags}: variables/variables.index cannot be read: {facts.checkpoint_problem}",
                        evidence="static", **where)
    problems = checkpoint_mismatches(found, facts.checkpoint)
    if problems:
        more = f" (+{len(problems) - _SHOWN} more)" if len(problems) > _SHOWN else ""
        return violated(f"{tags}: the checkpoint in variables/ does not fit the graph: "
                        + "; ".join(problems[:_SHOWN]) + more, evidence="static", **where)
    return passed(f"{tags}: {len(found)} variable(s) match variables/variables.index (names, dtypes and shapes)",
                  evidence="static", **where)


def checkpoint_mismatches(found, checkpoint) -> list:
    """What hub.Module's restore would trip over, one line per variable."""
    stored = {e.name: e for e in checkpoint}
    problems = []
    for variable in found:
        entry = stored.get(variable.checkpoint_key)
        if entry is None:
            problems.append(f"{variable.checkpoint_key} is not in the checkpoint")
            continue
        shape = variable.checkpoint_shape if variable.checkpoint_shape is not None else variable.shape
        if entry.dtype != variable.dtype and variable.dtype != "invalid":
            problems.append(f"{variable.checkpoint_key} is {variable.dtype} in the graph but {entry.dtype} "
                            "in the checkpoint")
        elif shape is not None and entry.shape is not None and not _compatible(shape, entry.shape):
            problems.append(f"{variable.checkpoint_key} is {format_shape(shape)} in the graph but "
                            f"{format_shape(entry.shape)} in the checkpoint")
    return problems


def _compatible(declared: tuple, stored: tuple) -> bool:
    return len(declared) == len(stored) and all(d is None or d == s for d, s in zip(declared, stored))


def _names(names: list) -> str:
    more = f", +{len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more
