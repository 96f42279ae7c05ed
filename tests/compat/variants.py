"""Edge cases of the format, derived from fixture modules for this suite only.

The fixture recipes cover what the rules exist for; these cover what the
client decides in corners of the format that sigcheck claims to mirror
(format notes: "an attached ImageModuleInfo ... wins", "loading refused ...
unsupported collections"): unknown ModuleDef fields, a zero ImageModuleInfo,
two ImageModuleInfo attachments, an attachment that does not parse, an
attachments collection of the wrong kind.  They carry no expected verdicts:
the compat tests only require that sigcheck and the client agree on them.
Building one needs TensorFlow (for the SavedModel proto), like the fixtures.
"""

from __future__ import annotations

import os
import shutil

from sigcheck.facts import protos

ATTACHMENTS = "hub_module_attachments"


def image_module_info(height: int, width: int) -> bytes:
    info = protos.ImageModuleInfo()
    info.default_image_size.height = height
    info.default_image_size.width = width
    return protos.ModuleAttachment(key="image_module_info", value=info.SerializeToString()).SerializeToString()


def _module_def(content: bytes):
    def edit(module_dir):
        with open(os.path.join(module_dir, "tfhub_module.pb"), "wb") as f:
            f.write(content)

    return edit


def _attachments(*values: bytes, kind: str = "bytes_list"):
    """Replace every meta graph's attachments collection."""

    def change(meta_graph):
        collection = meta_graph.collection_def[ATTACHMENTS]
        collection.Clear()
        if kind == "bytes_list":
            collection.bytes_list.value.extend(values)
        else:
            collection.node_list.value.extend(v.decode() for v in values)

    return _saved_model_edit(change)


def _saved_model_edit(change):
    def edit(module_dir):
        from tensorflow.core.protobuf import saved_model_pb2

        path = os.path.join(module_dir, "saved_model.pb")
        saved_model = saved_model_pb2.SavedModel()
        with open(path, "rb") as f:
            saved_model.ParseFromString(f.read())
        for meta_graph in saved_model.meta_graphs:
            change(meta_graph)
        with open(path, "wb") as f:
            f.write(saved_model.SerializeToString())

    return edit


# name -> (base fixture, edit, what it is)
VARIANTS = {
    "variant-module-def-unknown-field": (
        "fv-conformant", _module_def(b"\x08\x03\x18\x01"),
        "tfhub_module.pb = FORMAT_V3 plus a field this reader does not know (a newer writer)"),
    "variant-image-info-zero": (
        "fv-conformant", _attachments(image_module_info(0, 0)),
        "ImageModuleInfo 0x0: the size must come from the input shape"),
    "variant-image-info-twice": (
        "fv-conformant", _attachments(image_module_info(32, 32), image_module_info(64, 64)),
        "two image_module_info attachments, 32x32 then 64x64 (the input is 32x32)"),
    "variant-attachment-garbage": (
        "fv-conformant", _attachments(image_module_info(32, 32), b"\xff\xff\xff\xff not an attachment"),
        "hub_module_attachments holds bytes that are not a ModuleAttachment beside the ImageModuleInfo"),
    "variant-attachments-node-list": (
        "fv-no-image-info", _attachments(b"images:0", kind="node_list"),
        "hub_module_attachments is a node_list, not a bytes_list"),
}


def build(name: str, base_dir: str, dest: str) -> str:
    base, edit, _ = VARIANTS[name]
    shutil.copytree(base_dir, dest)
    edit(dest)
    return dest
