"""One fuzz input = the files of one module directory, packed into one byte string.

libFuzzer (and so atheris) mutates a single byte string; a module is several
files.  The container is deliberately trivial so that a finding can be
unpacked into a directory and checked with the real CLI:

    magic "SIGFUZZ1", then per file: u16 path length, path (UTF-8), u32 size, bytes
"""

from __future__ import annotations

import os
import struct

MAGIC = b"SIGFUZZ1"
# The files sigcheck's static path reads; anything else in a seed module is left out.
MODULE_FILES = ("saved_model.pb", "tfhub_module.pb", "variables/variables.index",
                "variables/variables.data-00000-of-00001")


def pack(files: dict) -> bytes:
    parts = [MAGIC]
    for path in sorted(files):
        raw_path = path.encode()
        parts += [struct.pack("<H", len(raw_path)), raw_path, struct.pack("<I", len(files[path])), files[path]]
    return b"".join(parts)


def unpack(data: bytes) -> dict:
    """The files of a container; bytes that are not one are taken as a saved_model.pb alone."""
    if not data.startswith(MAGIC):
        return {"saved_model.pb": data}
    files, offset = {}, len(MAGIC)
    try:
        while offset < len(data):
            (length,) = struct.unpack_from("<H", data, offset)
            path = data[offset + 2:offset + 2 + length].decode()
            offset += 2 + length
            (size,) = struct.unpack_from("<I", data, offset)
            files[path] = data[offset + 4:offset + 4 + size]
            offset += 4 + size
    except (struct.error, UnicodeDecodeError):
        pass  # a truncated container: the files read so far
    return {p: b for p, b in files.items() if p in MODULE_FILES}


def read_module_files(directory: str) -> dict:
    files = {}
    for path in MODULE_FILES:
        full = os.path.join(directory, path)
        if os.path.isfile(full):
            with open(full, "rb") as f:
                files[path] = f.read()
    return files


def canonical(files: dict) -> dict:
    """``files`` with saved_model.pb reduced to what sigcheck reads and serialized deterministically.
    TensorFlow writes maps in hash-table order and numbers functions from a process-wide counter,
    so two builds of one recipe differ in bytes; canonical seeds make ``--seed`` reproduce a run."""
    from sigcheck.facts import protos

    if "saved_model.pb" not in files:
        return files
    message = protos.SavedModel()
    message.ParseFromString(files["saved_model.pb"])
    message.DiscardUnknownFields()  # fields sigcheck does not read; they hold more build-dependent names
    for meta_graph in message.meta_graphs:
        _number_functions(meta_graph.graph_def)
    return {**files, "saved_model.pb": message.SerializeToString(deterministic=True)}


def _number_functions(graph_def) -> None:
    """Rename library functions fn_0, fn_1, ...: TensorFlow numbers them (while_body_44) from a
    process-wide counter that differs from one build to the next."""
    names = {f.signature.name: f"fn_{i}" for i, f in enumerate(graph_def.library.function)}
    nodes = list(graph_def.node)
    for function in graph_def.library.function:
        function.signature.name = names[function.signature.name]
        nodes += list(function.node_def)
    for node in nodes:
        node.op = names.get(node.op, node.op)
        for key in sorted(node.attr):
            value = node.attr[key]
            if value.WhichOneof("value") == "func":
                value.func.name = names.get(value.func.name, value.func.name)
            elif value.WhichOneof("value") == "list":
                for func in value.list.func:
                    func.name = names.get(func.name, func.name)


def write_module_files(files: dict, directory: str) -> None:
    """Make ``directory`` hold exactly ``files`` (of MODULE_FILES)."""
    for path in MODULE_FILES:
        full = os.path.join(directory, path)
        if path in files:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(files[path])
        elif os.path.exists(full):
            os.remove(full)
