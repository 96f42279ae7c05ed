"""The ``facts`` object of the JSON report and the header of every renderer."""

from __future__ import annotations

from .image import expected_image_size, module_image_signatures
from .kind import module_kind, text_signature_names
from .model import ModuleFacts
from .protos import FORMAT_UNSPECIFIED, FORMAT_V3
from .tf2 import TF2_SAVED_MODEL, module_format, object_graph, tf2_kind

_FORMAT_NAMES = {FORMAT_UNSPECIFIED: "FORMAT_UNSPECIFIED", FORMAT_V3: "FORMAT_V3"}


def format_name(facts: ModuleFacts) -> str:
    md = facts.module_def
    if not md.present:
        return "missing tfhub_module.pb"
    if md.problem:
        return "unparseable tfhub_module.pb"
    return _FORMAT_NAMES.get(md.format, f"format {md.format}")


def summarize(facts: ModuleFacts, directory: str, judged: ModuleFacts = None) -> dict:
    """Plain JSON-able facts: what the module is, before any judgement.

    The image fields describe ``judged`` (the facts the rules judge, after --tags;
    default ``facts``), so that they agree with the report's ``image_module``."""
    judged = facts if judged is None else judged
    summary = {
        "directory": directory,
        "format": format_name(facts),
        "module_format": module_format(facts),
        "required_features": list(facts.module_def.required_features),
        "tag_sets": [list(t) for t in facts.tag_sets],
        "kind": module_kind(judged),  # image | text | other (facts.kind; --kind overrides)
        "image_module": False,
        "image_signatures": [],
        "image_size": None,
        "image_size_source": None,
        "num_outputs": None,
        "image_module_info": None,
        "has_variables": facts.has_variables,
        "checkpoint_tensors": None if facts.checkpoint is None else len(facts.checkpoint),
        "meta_graphs": [],
    }
    if not facts.meta_graphs:
        return summary
    if summary["module_format"] == TF2_SAVED_MODEL:
        summary["tf2"] = tf2_summary(judged if judged.meta_graphs else facts)
    primary = judged.primary if judged.meta_graphs else facts.primary
    names = module_image_signatures(judged)
    summary["image_module"] = bool(names)
    summary["image_signatures"] = list(names)
    if names:
        first = primary.signature(names[0])
        expected = expected_image_size(primary, first)
        if expected.size is not None:
            summary["image_size"] = expected.size.to_json()
            summary["image_size_source"] = expected.source
        default = first.output("default")
        if default is not None and default.shape is not None and len(default.shape) == 2:
            summary["num_outputs"] = default.shape[1]
    if summary["kind"] == "text" and text_signature_names(judged):
        default = primary.signature(text_signature_names(judged)[0]).output("default")
        if default is not None and default.shape is not None and len(default.shape) == 2:
            summary["num_outputs"] = default.shape[1]
    info = primary.image_module_info
    if info is not None and info.image_size is not None:
        summary["image_module_info"] = info.image_size.to_json()
    summary["meta_graphs"] = [
        {
            "tags": list(meta.tags),
            "signatures": {s.name: s.to_json() for s in meta.signatures},
            "collections": [c.key for c in meta.collections],
            "attachments": [a.key for a in meta.attachments],
            "nodes": len(meta.graph.nodes),
            "functions": len(meta.graph.functions),
            "variables": len(meta.variables),
        }
        for meta in facts.meta_graphs
    ]
    return summary


def tf2_summary(facts: ModuleFacts) -> dict:
    """What a TF2 model offers a consumer: its kind, the root's children, traces and variables."""
    graph = object_graph(facts)
    root = graph.root
    variables = graph.variables
    fingerprint = facts.fingerprint
    return {
        "kind": tf2_kind(facts),
        "root_children": [name for name, _ in root.children] if root else [],
        "objects": len(graph.nodes),
        "concrete_functions": len(graph.concrete_functions),
        "variables": len(variables),
        "trainable_variables": sum(1 for v in variables if v.variable.trainable),
        # whether fingerprint.pb is present and parses (its hashes differ between identical exports)
        "fingerprint": "missing" if fingerprint is None or not fingerprint.present else (
            f"unreadable: {fingerprint.problem}" if fingerprint.problem else "present"),
    }
