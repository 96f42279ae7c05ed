"""HUB101-HUB107: would the TF1 Hub loader accept the files, and do they hold together.

HUB101-HUB104: would the TF1 Hub loader accept the files at all.

HUB105: the checkpoint restores into every tag set's graph, as hub.Module restores it.

The static half pairs the graph's variable ops with ``variables/variables.index``
(names, dtypes, shapes) the way hub.Module does: only GLOBAL_VARIABLES are
restored, under their op name or a partitioned variable's full name.  The
runtime half is the proof (TensorFlow restores the checkpoint); it can add a
failure but never turns a static failure into a pass.

HUB106: every signature tensor names a node of its own tag set's graph.

A TensorInfo is only a name; hub.Module looks it up in the graph of the tag
set it loads and fails there if it is missing.  That is visible in the files
already, so it is reported statically -- including a name that exists only in
another tag set's graph, which works in one graph and breaks in the other.

HUB107: every node is one TensorFlow can build (so far: Const values).

The reader records why a node could not be built (``NodeFacts.problem``);
this only gathers those per meta graph, graph nodes first, then each library
function's, so that a corrupted file gets a verdict instead of a crash.
"""

from __future__ import annotations

from collections import Counter

from ..facts.model import format_shape, format_tags
from ..facts.protos import FORMAT_V3
from ..facts.reader import ATTACHMENTS_COLLECTION
from ..probes import REGISTRY
from . import Finding, check, location, passed, skipped, violated

_SHOWN = 3  # problems quoted in a message; the evidence counts them all


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




@check("HUB106")
def signature_tensors(ctx, options):
    for meta in ctx.facts.meta_graphs:
        where = {"tags": meta.tags, "location": location(meta.tags, "signatures")}
        missing = [_missing_text(ctx.facts, meta, signature.name, kind, tensor.key, name)
                   for signature, kind, tensor, name in _tensor_names(meta)
                   if name.split(":", 1)[0] not in meta.graph.by_name]
        if missing:
            more = f" (+{len(missing) - _SHOWN} more)" if len(missing) > _SHOWN else ""
            yield violated(f"{format_tags(meta.tags)}: " + "; ".join(missing[:_SHOWN]) + more
                           + "; hub.Module would fail to look them up", **where)
        else:
            count = sum(1 for _ in _tensor_names(meta))
            yield passed(f"{format_tags(meta.tags)}: all {count} signature tensor(s) name nodes of the graph",
                         **where)


def _tensor_names(meta):
    for signature in meta.signatures:
        for kind, tensors in (("input", signature.inputs), ("output", signature.outputs)):
            for tensor in tensors:
                for name in tensor.components:
                    yield signature, kind, tensor, name


def _missing_text(facts, meta, signature: str, kind: str, key: str, name: str) -> str:
    op = name.split(":", 1)[0]
    elsewhere = [format_tags(m.tags) for m in facts.meta_graphs if m is not meta and op in m.graph.by_name]
    where = f"only in the graph of {', '.join(elsewhere)}" if elsewhere else "in no graph of the module"
    return f"{signature} {kind} '{key}' is {name}, a node that is not in this graph ({where})"




def malformed_nodes(graph) -> list:
    """``"name (Op): why"`` for every malformed node of ``graph`` and its functions."""
    found = [f"{n.name} ({n.op}): {n.problem}" for n in graph.nodes if n.problem]
    for function in graph.functions:
        found.extend(f"{function.name}:{n.name} ({n.op}): {n.problem}" for n in function.nodes if n.problem)
    return found


@check("HUB107")
def well_formed_graph(ctx, options):
    for meta in ctx.facts.meta_graphs:
        where = {"tags": meta.tags, "location": location(meta.tags, "graph")}
        found = malformed_nodes(meta.graph)
        if not found:
            yield passed(f"{format_tags(meta.tags)}: every Const value has a shape and data TensorFlow accepts",
                         **where)
            continue
        more = f"; and {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
        yield violated(f"{format_tags(meta.tags)}: TensorFlow cannot build node(s) " + "; ".join(found[:_SHOWN])
                       + more, evidence=f"{len(found)} node(s)", **where)


@check("HUB108", needs=(REGISTRY,))
def registered_ops(ctx, options):
    for meta in ctx.facts.meta_graphs:
        where = {"tags": meta.tags, "location": location(meta.tags, "graph")}
        missing = ctx.unregistered_ops(meta.tags)
        if missing is None:
            yield skipped(f"{format_tags(meta.tags)}: the op registry was not asked (tag set not run)", **where)
        elif missing:
            yield violated(f"{format_tags(meta.tags)}: op type(s) {', '.join(missing)} are not registered in the "
                           f"installed TensorFlow{_providers(missing, options['libraries'])}, so TensorFlow cannot "
                           "import the graph", evidence=f"{len(missing)} op type(s)", **where)
        else:
            yield passed(f"{format_tags(meta.tags)}: every op type the graph uses is registered in the installed "
                         "TensorFlow", **where)


def _providers(ops, libraries) -> str:
    """`` (provided by LIB)`` for the op types whose prefix ``libraries`` knows."""
    known = [entry.split("=", 1) for entry in libraries if "=" in entry]
    found = sorted({library for op in ops for prefix, library in known if op.startswith(prefix)})
    return f" (provided by {'; '.join(found)})" if found else ""
