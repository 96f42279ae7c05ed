"""SIG201-SIG203: the signatures consumers ask for by name exist and agree."""

from __future__ import annotations

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
    same = [s.name for s in named if s.interface() == default.interface()]
    if same:
        yield passed(f"'default' has the same interface as {', '.join(same)}", **where)
        return
    compared = "; ".join(f"{s.name}: {_interface_text(s)}" for s in named)
    yield violated(
        f"'default' ({_interface_text(default)}) matches none of the named image signatures ({compared})",
        **where)
