"""Golden outputs on disk (written by ``sigcheck snapshot``), read without TensorFlow.

Layout (docs/diff.md):

    DIR/manifest.json            schema "sigcheck-golden/1": versions, fingerprint, seed, images, inputs, outputs
    DIR/inputs/NNN.npy           the synthetic batch fed, float32 [images, H, W, 3] (one file per image size)
    DIR/outputs/NNN.npy          one output of one signature, in its own dtype, [images, ...]

Arrays are NumPy ``.npy`` files (a documented header plus raw little-endian
data, readable by any NumPy without TensorFlow).  Every file's SHA-256 is in
the manifest, so a truncated or edited file is an error, not a comparison.
"""

from __future__ import annotations

import json
import os
from typing import Optional

from ..errors import SigcheckError
from ..record import record
from .image import image_size_for_inference
from .model import ModuleFacts, format_shape

SCHEMA = "sigcheck-golden/1"
VERSION = 1
DEFAULT_RTOL, DEFAULT_ATOL = 1e-3, 1e-5  # the ONNX backend tests' defaults


class GoldenError(SigcheckError):
    """The golden directory cannot be used: missing files, damaged, newer, or from a different interface."""

    kind = "golden"
    exit_code = 5


@record
class GoldenOutput:
    signature: str
    key: str
    dtype: str
    shape: tuple
    rtol: float
    atol: float
    values: object  # np.ndarray


@record
class Golden:
    directory: str
    manifest: dict
    labels: tuple
    outputs: tuple  # of GoldenOutput
    sizes: dict  # signature -> (height, width)


def sha256_file(path: str) -> str:
    import hashlib  # only --golden and `sigcheck snapshot` hash files: the static path does not pay for it

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_golden(directory: str) -> Golden:
    """The golden outputs in ``directory``, each file verified, or GoldenError (one line)."""
    import numpy as np

    where = f"golden directory {directory}"
    manifest = _manifest(directory, where)
    try:
        labels = tuple(manifest["images"])
        sizes = {s: tuple(i["size"]) for i in manifest["inputs"] for s in i["signatures"]}
        entries = list(manifest["outputs"])
    except (KeyError, TypeError) as exc:
        raise GoldenError(f"{where}: manifest.json lacks {exc}") from None
    outputs = []
    for entry in manifest["inputs"] + entries:
        values = _array(directory, entry, where, np)
        if "signature" not in entry:
            continue
        if values.dtype.kind in "fc" and not np.isfinite(values).all():
            raise GoldenError(f"{where}: {entry['file']} ('{entry['signature']}' output '{entry['key']}') holds "
                              "NaN or Inf: a golden output must be finite")
        outputs.append(GoldenOutput(entry["signature"], entry["key"], entry["dtype"], tuple(entry["shape"]),
                                    float(entry.get("rtol", DEFAULT_RTOL)), float(entry.get("atol", DEFAULT_ATOL)),
                                    values))
    return Golden(directory, manifest, labels, tuple(outputs), sizes)


def _manifest(directory: str, where: str) -> dict:
    path = os.path.join(directory, "manifest.json")
    if not os.path.isdir(directory):
        raise GoldenError(f"{where} does not exist (write one with 'sigcheck snapshot MODULE --out DIR')")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise GoldenError(f"{where}: manifest.json is missing") from None
    except (OSError, ValueError) as exc:
        raise GoldenError(f"{where}: manifest.json is unreadable ({exc})") from None
    schema = manifest.get("schema") if isinstance(manifest, dict) else None
    if not isinstance(schema, str) or not schema.startswith("sigcheck-golden/"):
        raise GoldenError(f"{where}: manifest.json is not a sigcheck golden manifest")
    version = schema.rpartition("/")[2]
    if not version.isdigit() or int(version) > VERSION:
        raise GoldenError(f"{where}: manifest version {schema!r} is newer than this sigcheck reads ({SCHEMA}); "
                          "upgrade sigcheck")
    return manifest


def _array(directory: str, entry: dict, where: str, np):
    name = entry.get("file", "")
    path = os.path.normpath(os.path.join(directory, name))
    if not name or os.path.isabs(name) or not path.startswith(os.path.normpath(directory) + os.sep):
        raise GoldenError(f"{where}: manifest names a file outside the directory: {name!r}")
    if not os.path.isfile(path):
        raise GoldenError(f"{where}: {name} is missing")
    if sha256_file(path) != entry.get("sha256"):
        raise GoldenError(f"{where}: {name} does not match its SHA-256 in manifest.json (truncated or edited)")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise GoldenError(f"{where}: {name} is not a readable .npy array ({exc})") from None


def interface_mismatch(golden: Golden, facts: ModuleFacts) -> Optional[str]:
    """Why ``facts`` cannot be compared with ``golden`` (a different interface), or None."""
    if not facts.meta_graphs:
        return "the module has no meta graph"
    primary = facts.primary
    for out in golden.outputs:
        signature = primary.signature(out.signature)
        if signature is None:
            return f"the module has no signature '{out.signature}'"
        tensor = signature.output(out.key)
        if tensor is None:
            return f"signature '{out.signature}' has no output '{out.key}'"
        if tensor.dtype != out.dtype:
            return f"'{out.signature}' output '{out.key}' is {tensor.dtype}, the golden one {out.dtype}"
        declared = tensor.shape
        if declared is not None and (len(declared) != len(out.shape) or any(
                d is not None and d != s for d, s in zip(declared[1:], out.shape[1:]))):
            return (f"'{out.signature}' output '{out.key}' is declared {format_shape(declared)}, the golden one is "
                    f"{list(out.shape)}")
        size = image_size_for_inference(primary, signature)
        expected = golden.sizes.get(out.signature)
        if size is None or expected is None or (size.height, size.width) != tuple(expected):
            shown = f"{size.height}x{size.width}" if size else "no known size"
            return f"'{out.signature}' takes {shown} images, the golden ones are {expected[0]}x{expected[1]}" \
                if expected else f"no golden input for '{out.signature}'"
    return None
