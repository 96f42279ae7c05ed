"""HUB101-HUB104: would the TF1 Hub loader accept the files at all."""

from __future__ import annotations

from collections import Counter

from ..facts.model import format_tags
from ..facts.protos import FORMAT_V3
from ..facts.reader import ATTACHMENTS_COLLECTION
from . import check, location, passed, violated


@check("HUB101")
def module_def(ctx, options):
    md = ctx.facts.module_def
    where = {"location": "tfhub_module.pb"}
    if not md.present:
        yield violated(
            "tfhub_module.pb is missing: this is a plain SavedModel, not a TF1 Hub module "
            "(expected the ModuleDef bytes 08 03 = FORMAT_V3)", **where)
    elif md.problem:
        yield violated(f"tfhub_module.pb does not parse as a ModuleDef: {md.problem}", **where)
    elif md.format != FORMAT_V3:
        name = "FORMAT_UNSPECIFIED" if md.format == 0 else f"format {md.format}"
        yield violated(f"tfhub_module.pb declares {name}; expected FORMAT_V3 (3)", **where)
    elif md.required_features:
        yield violated(
            f"tfhub_module.pb requires unknown features {list(md.required_features)}; "
            "FORMAT_V3 defines none, so no reader can load it", **where)
    else:
        yield passed("tfhub_module.pb declares FORMAT_V3 with no required features", **where)


@check("HUB102")
def saved_model(ctx, options):
    tag_sets = ctx.facts.tag_sets
    where = {"location": "saved_model.pb"}
    if not tag_sets:
        yield violated("saved_model.pb holds no meta graph; expected at least one (tag set {})", **where)
        return
    shown = ", ".join(format_tags(t) for t in tag_sets)
    problems = []
    for index, meta in enumerate(ctx.facts.meta_graphs):
        if meta.repeated_tags:
            problems.append(
                f"meta graph #{index} lists tag(s) {', '.join(meta.repeated_tags)} more than once "
                f"({list(meta.tags_as_written)}); loaders match tag sets, so it counts as {format_tags(meta.tags)}")
    repeated = [t for t, n in Counter(tag_sets).items() if n > 1]
    if repeated:
        problems.append(
            f"tag sets must be unique, but {', '.join(format_tags(t) for t in repeated)} appears more "
            f"than once (meta graphs: {shown}); TensorFlow loads the first")
    if problems:
        yield violated("; ".join(problems), **where)
    elif () not in tag_sets:
        yield violated(
            f"no meta graph has the empty tag set {{}} used for inference (meta graphs: {shown})", **where)
    else:
        yield passed(f"{len(tag_sets)} meta graph(s) with unique tag sets: {shown}", **where)


@check("HUB103")
def tag_consistency(ctx, options):
    primary = ctx.primary
    others = [m for m in ctx.facts.meta_graphs if m is not primary]
    if not others:
        yield passed(f"only one tag set, {format_tags(primary.tags)}", tags=primary.tags)
        return
    for meta in others:
        differences = _differences(primary, meta)
        where = {"tags": meta.tags, "location": location(meta.tags, "signatures")}
        if differences:
            yield violated(
                f"{format_tags(meta.tags)} differs from {format_tags(primary.tags)}: " + "; ".join(differences),
                **where)
        else:
            yield passed(
                f"{format_tags(meta.tags)} exposes the same {len(meta.signatures)} signature(s) as "
                f"{format_tags(primary.tags)}", **where)


def _differences(expected, actual) -> list:
    found = []
    missing = sorted(set(expected.signature_names) - set(actual.signature_names))
    extra = sorted(set(actual.signature_names) - set(expected.signature_names))
    if missing:
        found.append(f"signature(s) {', '.join(missing)} missing")
    if extra:
        found.append(f"extra signature(s) {', '.join(extra)}")
    for name in sorted(set(expected.signature_names) & set(actual.signature_names)):
        want, got = expected.signature(name), actual.signature(name)
        for kind in ("inputs", "outputs"):
            want_t = {t.key: t for t in getattr(want, kind)}
            got_t = {t.key: t for t in getattr(got, kind)}
            if set(want_t) != set(got_t):
                found.append(f"{name} {kind} are {sorted(got_t)}, expected {sorted(want_t)}")
                continue
            for key in sorted(want_t):
                a, b = want_t[key], got_t[key]
                if (a.dtype, a.shape, a.encoding) != (b.dtype, b.shape, b.encoding):
                    found.append(f"{name} {kind[:-1]} {key} is {b.describe()}, expected {a.describe()}")
    want, got = _attachments_text(expected), _attachments_text(actual)
    if want != got:
        found.append(f"attachments are {got}, expected {want}")
    return found


def _attachments_text(meta) -> str:
    """What hub.Module(spec, tags) would read from the tag set's attachments."""
    shown = []
    for attachment in meta.attachments:
        if attachment.image_size is not None:
            shown.append(f"{attachment.key} {attachment.image_size.height}x{attachment.image_size.width}")
        else:
            shown.append(f"{attachment.key or '?'} ({attachment.size} bytes)")
    return "[" + ", ".join(shown) + "]"


@check("HUB104")
def collections(ctx, options):
    allowed = set(options["allowed"])
    for meta in ctx.facts.meta_graphs:
        where = {"tags": meta.tags, "location": location(meta.tags, "collections")}
        keys = [c.key for c in meta.collections]
        refused = [k for k in keys if k not in allowed]
        problems = _attachment_problems(meta)
        if refused:
            problems.insert(0, f"collection(s) {', '.join(refused)} would make hub.Module refuse the module "
                               f"(allowed: {', '.join(sorted(allowed))})")
        if problems:
            yield violated(f"{format_tags(meta.tags)}: " + "; ".join(problems), **where)
        else:
            yield passed(f"{format_tags(meta.tags)} collections: {', '.join(keys) or 'none'}", **where)


def _attachment_problems(meta) -> list:
    """Why hub.Module could not decode the attachments of ``meta``."""
    collection = meta.collection(ATTACHMENTS_COLLECTION)
    if collection is None:
        return []
    if collection.kind != "bytes_list":
        return [f"{ATTACHMENTS_COLLECTION} is a {collection.kind} collection; hub.Module expects a bytes_list "
                "of ModuleAttachment messages"]
    return [f"a {ATTACHMENTS_COLLECTION} entry{f' ({a.key})' if a.key else ''} is unreadable: {a.problem}"
            for a in meta.attachments if a.problem and a.key != "image_module_info"]
