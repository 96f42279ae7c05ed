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
