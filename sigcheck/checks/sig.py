"""SIG201-SIG203: the signatures consumers ask for by name exist and agree."""

from __future__ import annotations

from ..analysis.aliases import resolve_alias
from ..facts.image import DEFAULT, IMAGES, TASK_SIGNATURES
from . import check, location, passed, skipped, violated


def _interface_text(signature) -> str:
    inputs = ", ".join(f"{t.key} {t.describe()}" for t in signature.inputs) or "no inputs"
    outputs = ", ".join(f"{t.key} {t.describe()}" for t in signature.outputs) or "no outputs"
    return f"{inputs} -> {outputs}"


@check("SIG201")
def default_signature(ctx, options):
    meta = ctx.primary
    where = {"tags": meta.tags, "location": location(meta.tags, "signatures", DEFAULT)}
    if meta.signature(DEFAULT) is None:
        names = ", ".join(meta.signature_names) or "none"
        yield violated(f"no signature named 'default' (signatures: {names}); m(images) has nothing to call",
                       **where)
    else:
        yield passed("signature 'default' exists", **where)


@check("SIG202")
def image_signature(ctx, options):
    meta = ctx.primary
    named = [n for n in TASK_SIGNATURES if meta.signature(n) is not None]
    where = {"tags": meta.tags, "location": location(meta.tags, "signatures")}
    if named:
        yield passed(f"names its task: {', '.join(named)}", **where)
    else:
        yield violated(
            f"'default' takes '{IMAGES}' but no signature names the task; expected "
            f"'image_feature_vector' and/or 'image_classification' (signatures: {', '.join(meta.signature_names)})",
            **where)


@check("SIG203")
def default_matches_task(ctx, options):
    meta = ctx.primary
    default = meta.signature(DEFAULT)
    named = [meta.signature(n) for n in TASK_SIGNATURES if meta.signature(n) is not None]
    if default is None:
        yield skipped("no 'default' signature (see SIG201)", tags=meta.tags)
        return
    where = ctx.where(default)
    if not named:
        yield skipped("no named image signature to compare 'default' with (see SIG202)", **where)
        return
    same = [s for s in named if s.interface() == default.interface()]
    if not same:
        compared = "; ".join(f"{s.name}: {_interface_text(s)}" for s in named)
        yield violated(
            f"'default' ({_interface_text(default)}) matches none of the named image signatures ({compared})",
            **where)
        return
    differences = {s.name: _tensor_differences(meta.graph, default, s) for s in same}
    equal = [name for name, found in differences.items() if not found]
    if equal:
        yield passed(f"'default' has the same inputs and outputs as {', '.join(equal)}", **where)
        return
    shown = "; ".join(f"{name}: {', '.join(found)}" for name, found in differences.items())
    yield violated(f"'default' has the interface of {', '.join(differences)} but computes something else: {shown}",
                   **where)


def _tensor_differences(graph, default, named) -> list:
    """Where ``default``'s images input or default output is another tensor than ``named``'s."""
    found = []
    for kind, key in (("input", IMAGES), ("output", DEFAULT)):
        ours = (default.input if kind == "input" else default.output)(key)
        theirs = (named.input if kind == "input" else named.output)(key)
        if ours is None or theirs is None or not ours.name or not theirs.name:
            continue
        if resolve_alias(graph, ours.name) != resolve_alias(graph, theirs.name):
            found.append(f"{kind} '{key}' is {_shown(graph, ours.name)} in 'default' but "
                         f"{_shown(graph, theirs.name)} in '{named.name}'")
    return found


def _shown(graph, tensor: str) -> str:
    resolved = resolve_alias(graph, tensor)
    return tensor if resolved == tensor else f"{tensor} (= {resolved})"
