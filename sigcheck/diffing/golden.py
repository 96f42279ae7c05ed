"""``sigcheck snapshot MODULE --out DIR``: write golden outputs (format: sigcheck/facts/golden.py, docs/diff.md).

Deterministic: the same module on the same machine gives the same bytes (no
timestamps, sorted JSON, ``.npy`` files).  Written into a temporary directory
beside ``DIR`` and renamed at the end, so ``DIR`` is complete or absent.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile

from .. import __version__
from ..errors import UsageError
from ..facts.golden import DEFAULT_ATOL, DEFAULT_RTOL, SCHEMA, sha256_file
from ..facts.reader import read_module
from ..resolve import resolve
from ..runtime import batches
from .run import CannotRun, run_outputs


def fingerprint(directory: str) -> dict:
    """``fingerprint.pb`` where present, else a SHA-256 over ``saved_model.pb`` and the variables files."""
    fingerprint_pb = os.path.join(directory, "fingerprint.pb")
    if os.path.isfile(fingerprint_pb):
        return {"source": "fingerprint.pb", "sha256": sha256_file(fingerprint_pb)}
    digest = hashlib.sha256()
    files = ["saved_model.pb"]
    variables = os.path.join(directory, "variables")
    if os.path.isdir(variables):
        files += sorted(f"variables/{n}" for n in os.listdir(variables))
    for name in files:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            digest.update(name.encode() + b"\0" + sha256_file(path).encode() + b"\0")
    return {"source": "saved_model.pb and variables/", "sha256": digest.hexdigest()}


def _tensorflow_version() -> str:
    try:
        return importlib.metadata.version("tensorflow")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def snapshot(handle: str, out: str, config, *, rtol=None, atol=None, worker=None) -> dict:
    """Run ``handle`` on the synthetic batch and write its golden outputs to ``out``; return the manifest."""
    import numpy as np

    out = os.path.abspath(out)
    if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
        raise UsageError(f"--out {out}: exists and is not an empty directory")
    parent = os.path.dirname(out)
    if not os.path.isdir(parent):
        raise UsageError(f"--out {out}: the parent directory does not exist")
    with resolve(handle, max_archive_bytes=config.max_archive_bytes) as directory:
        facts = read_module(directory)
        if worker is None:
            from ..runtime.runner import sandboxed_worker

            with sandboxed_worker(config.worker_limits(1), read_roots=[directory]) as own:
                outputs = run_outputs(facts, directory, config, own, handle)
        else:
            outputs = run_outputs(facts, directory, config, worker, handle)
        module_fingerprint = fingerprint(directory)
    bad = [f"'{s}' output '{k}'" for (s, k), v in sorted(outputs.values.items())
           if v.dtype.kind in "fc" and not np.isfinite(v).all()]
    if bad:
        raise CannotRun(f"{handle}: outputs are not finite ({', '.join(bad)}): no golden outputs written (see RUN502)")
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.partial-", dir=parent)
    try:
        manifest = _write(staging, handle, outputs, module_fingerprint, rtol, atol)
        if os.path.isdir(out):
            os.rmdir(out)  # empty, checked above
        os.rename(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _write(staging: str, handle: str, outputs, module_fingerprint: dict, rtol, atol) -> dict:
    import numpy as np

    os.makedirs(os.path.join(staging, "inputs"))
    os.makedirs(os.path.join(staging, "outputs"))
    inputs = []
    by_size: dict = {}
    for signature, size in sorted(outputs.image_sizes.items()):
        by_size.setdefault(size, []).append(signature)
    for index, (size, signatures) in enumerate(sorted(by_size.items())):
        name = f"inputs/{index:03d}.npy"
        np.save(os.path.join(staging, name), batches.make_images(*size))
        inputs.append({"file": name, "size": list(size), "signatures": signatures,
                       "sha256": sha256_file(os.path.join(staging, name))})
    entries = []
    for index, ((signature, key), values) in enumerate(sorted(outputs.values.items())):
        name = f"outputs/{index:03d}.npy"
        np.save(os.path.join(staging, name), np.ascontiguousarray(values))
        entries.append({"file": name, "signature": signature, "key": key, "tensor": outputs.tensors[signature, key],
                        "dtype": str(values.dtype), "shape": list(values.shape),
                        "rtol": DEFAULT_RTOL if rtol is None else rtol, "atol": DEFAULT_ATOL if atol is None else atol,
                        "sha256": sha256_file(os.path.join(staging, name))})
    manifest = {
        "schema": SCHEMA,
        "sigcheck_version": __version__,
        "tensorflow_version": _tensorflow_version(),
        "numpy_version": np.__version__,
        "module": {"handle": handle, "fingerprint": module_fingerprint},
        "seed": batches.DEFAULT_SEED,
        "images": list(outputs.labels),
        "tags": [],
        "inputs": inputs,
        "outputs": entries,
    }
    with open(os.path.join(staging, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    return manifest
