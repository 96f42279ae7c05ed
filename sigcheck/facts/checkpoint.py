"""Read ``variables/variables.index`` (a TensorFlow tensor bundle) without TensorFlow.

The index is a LevelDB-style table (tensorflow/core/lib/io/table_format.txt):
data blocks of prefix-compressed key/value entries, an index block pointing at
them, and a 48-byte footer ending in a magic number.  Blocks may be Snappy
compressed.  Each key is a tensor name; its value is a BundleEntryProto
(dtype, shape, slices).  The empty key holds the BundleHeaderProto.

The file is untrusted: every length and offset is bounds-checked, sizes are
capped, and anything malformed raises CheckpointError with one line saying
where, never another exception.
"""

from __future__ import annotations

import os
import struct
from typing import Optional

from google.protobuf.message import DecodeError

from . import protos
from ..record import record

MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER = 5  # compression type byte + masked crc32c
MAX_INDEX_BYTES = 64 << 20
MAX_BLOCK_BYTES = 64 << 20
MAX_ENTRIES = 1_000_000
NO_COMPRESSION, SNAPPY = 0, 1


class CheckpointError(ValueError):
    """variables.index is not a readable tensor bundle index."""


@record
class CheckpointEntry:
    name: str
    dtype: str  # e.g. "float32"
    shape: Optional[tuple]  # None when the entry has no shape
    sliced: bool = False  # stored as slices of a partitioned variable


def read_index(path: str) -> tuple:
    """The tensors listed in the bundle index at ``path``, sorted by name."""
    try:
        size = os.path.getsize(path)
        if size > MAX_INDEX_BYTES:
            raise CheckpointError(f"{size} bytes, more than an index of {MAX_INDEX_BYTES >> 20} MiB can be")
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise CheckpointError(f"cannot be read ({exc.strerror or exc})") from None
    return parse_index(data)


def parse_index(data: bytes) -> tuple:
    if len(data) < FOOTER_SIZE:
        raise CheckpointError(f"{len(data)} bytes: too short for a table footer ({FOOTER_SIZE} bytes)")
    footer = data[-FOOTER_SIZE:]
    if struct.unpack("<Q", footer[-8:])[0] != MAGIC:
        raise CheckpointError("no table magic number at the end: not a tensor bundle index")
    _, pos = _handle(footer, 0)  # the metaindex block: unused by tensor bundles
    index_handle, _ = _handle(footer, pos)
    entries = []
    for _, value in _entries(_block(data, index_handle, "index block")):
        handle, _ = _handle(value, 0)
        for key, raw in _entries(_block(data, handle, "data block")):
            if key:
                entries.append(_entry(key, raw))
            if len(entries) > MAX_ENTRIES:
                raise CheckpointError(f"more than {MAX_ENTRIES} entries")
    return tuple(sorted(entries, key=lambda e: e.name))


def _entry(key: bytes, raw: bytes) -> CheckpointEntry:
    name = key.decode("utf-8", "replace")
    proto = protos.BundleEntryProto()
    try:
        proto.ParseFromString(raw)
    except (DecodeError, RuntimeError, ValueError):
        raise CheckpointError(f"the entry for {name!r} is not a BundleEntryProto") from None
    shape = None
    if proto.HasField("shape") and not proto.shape.unknown_rank:
        shape = tuple(None if d.size < 0 else d.size for d in proto.shape.dim)
    return CheckpointEntry(name, protos.dtype_name(proto.dtype), shape, bool(len(proto.slices)))


def _varint(data: bytes, pos: int, what: str = "varint") -> tuple:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise CheckpointError(f"truncated {what}")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CheckpointError(f"overlong {what}")


def _handle(data: bytes, pos: int) -> tuple:
    """((offset, size), next position) of a BlockHandle."""
    offset, pos = _varint(data, pos, "block handle")
    size, pos = _varint(data, pos, "block handle")
    return (offset, size), pos


def _block(data: bytes, handle: tuple, what: str) -> bytes:
    offset, size = handle
    end = offset + size + BLOCK_TRAILER
    if size > MAX_BLOCK_BYTES or end > len(data) - FOOTER_SIZE:
        raise CheckpointError(f"{what} at {offset} (+{size} bytes) lies outside the file")
    contents, kind = data[offset:offset + size], data[offset + size]
    if kind == SNAPPY:
        return snappy_decompress(contents)
    if kind != NO_COMPRESSION:
        raise CheckpointError(f"{what} at {offset} has unknown compression type {kind}")
    return contents


def _entries(block: bytes):
    """(key, value) of every entry of a block, keys un-prefix-compressed."""
    if len(block) < 4:
        raise CheckpointError("block too short for its restart count")
    restarts = struct.unpack("<I", block[-4:])[0]
    limit = len(block) - 4 - 4 * restarts
    if restarts > len(block) // 4 or limit < 0:
        raise CheckpointError(f"block claims {restarts} restart points, more than it can hold")
    pos, key = 0, b""
    while pos < limit:
        shared, pos = _varint(block, pos, "entry header")
        unshared, pos = _varint(block, pos, "entry header")
        length, pos = _varint(block, pos, "entry header")
        if shared > len(key) or pos + unshared + length > limit:
            raise CheckpointError(f"entry at {pos} of a block overruns it")
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        yield key, block[pos:pos + length]
        pos += length


def snappy_decompress(data: bytes) -> bytes:
    """Raw Snappy (no framing): a varint length, then literals and back-references."""
    length, pos = _varint(data, 0, "snappy length")
    if length > MAX_BLOCK_BYTES:
        raise CheckpointError(f"compressed block claims {length} bytes")
    out = bytearray()
    while pos < len(data):
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            size = tag >> 2
            if size >= 60:
                extra = size - 59
                if pos + extra > len(data):
                    raise CheckpointError("truncated snappy literal")
                size = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            size += 1
            if pos + size > len(data) or len(out) + size > length:
                raise CheckpointError("snappy literal overruns the block")
            out += data[pos:pos + size]
            pos += size
            continue
        if kind == 1:
            size, width = ((tag >> 2) & 7) + 4, 1
            high = (tag >> 5) << 8
        else:
            size, width, high = (tag >> 2) + 1, (2 if kind == 2 else 4), 0
        if pos + width > len(data):
            raise CheckpointError("truncated snappy copy")
        offset = high | int.from_bytes(data[pos:pos + width], "little")
        pos += width
        if offset == 0 or offset > len(out) or len(out) + size > length:
            raise CheckpointError("snappy copy refers outside the block")
        for _ in range(size):  # may overlap its own output
            out.append(out[-offset])
    if len(out) != length:
        raise CheckpointError(f"snappy block is {len(out)} bytes, declared {length}")
    return bytes(out)
