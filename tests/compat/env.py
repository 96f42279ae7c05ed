"""The old-client environment: a virtualenv with the last TF1 Hub client.

tensorflow-hub 0.15.0 is the last release with ``hub.Module`` and
``hub.create_module_spec``; it runs on tensorflow-cpu 2.15.1, which exists for
Python 3.9-3.11 only.  The virtualenv is built once per machine under a cache
directory keyed by the pinned versions and the Python version, and reused by
later runs.  It is built in a temporary directory beside its final place and
renamed into place only when complete, so an interrupted build is never
mistaken for a finished one.

    python tests/compat/env.py            # build (or find) it, print its python
    SIGCHECK_COMPAT_REBUILD=1 ...         # throw the cached one away first
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REQUIREMENTS = ("tensorflow-cpu==2.15.1", "tensorflow-hub==0.15.0", "numpy<2")
SUPPORTED_PYTHONS = ((3, 9), (3, 10), (3, 11))
MARKER = "sigcheck-compat.json"
SMOKE = (
    "import tensorflow as tf, tensorflow_hub as hub, json;"
    "assert hasattr(hub, 'Module') and hasattr(hub, 'create_module_spec');"
    "print(json.dumps({'tensorflow': tf.__version__, 'tensorflow_hub': hub.__version__}))"
)


class Unavailable(Exception):
    """The registry has no such versions for this Python: the suite skips."""


class BuildFailed(Exception):
    """Building the environment failed for another reason: the suite fails."""


def cache_root() -> Path:
    if os.environ.get("SIGCHECK_COMPAT_CACHE"):
        return Path(os.environ["SIGCHECK_COMPAT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sigcheck-compat"


def base_python() -> str:
    """An interpreter tensorflow-cpu 2.15.1 has wheels for, if one is around."""
    if os.environ.get("SIGCHECK_COMPAT_PYTHON"):
        return os.environ["SIGCHECK_COMPAT_PYTHON"]
    if sys.version_info[:2] in SUPPORTED_PYTHONS:
        return sys.executable
    for major, minor in reversed(SUPPORTED_PYTHONS):
        found = shutil.which(f"python{major}.{minor}")
        if found:
            return found
    return sys.executable  # pip will say "No matching distribution", and the suite skips


def _python_version(python: str) -> str:
    out = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def venv_dir(python: str = None) -> Path:
    python = python or base_python()
    version = _python_version(python)
    digest = hashlib.sha256("\n".join(REQUIREMENTS).encode()).hexdigest()[:8]
    return cache_root() / f"tf2.15.1-hub0.15.0-py{version}-{digest}"


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def is_complete(venv: Path) -> bool:
    return (venv / MARKER).is_file() and venv_python(venv).exists()


def ensure(log=None) -> Path:
    """The python of the cached environment, building it first if needed."""
    python = base_python()
    final = venv_dir(python)
    if os.environ.get("SIGCHECK_COMPAT_REBUILD") and final.exists():
        _remove_aside(final)
    if is_complete(final):
        return venv_python(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be building the same one
        if is_complete(final):
            return venv_python(final)
        _remove_stale(final)
        _build(python, final, log or (lambda message: None))
    return venv_python(final)


def _remove_aside(path: Path) -> None:
    aside = path.with_name(f".old-{path.name}-{os.getpid()}")
    os.rename(path, aside)
    shutil.rmtree(aside, ignore_errors=True)


def _remove_stale(final: Path) -> None:
    """Leftovers of interrupted builds (we hold the lock, so nobody is building)."""
    for entry in final.parent.iterdir():
        if entry.name.startswith((f".building-{final.name}", f".old-{final.name}")):
            shutil.rmtree(entry, ignore_errors=True)
    if final.exists():  # a directory without the marker: not ours to trust
        _remove_aside(final)


def _build(python: str, final: Path, log) -> None:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f".building-{final.name}-", dir=final.parent))
    try:
        _run([python, "-m", "venv", str(work)], "creating the virtualenv")
        pip = [str(venv_python(work)), "-m", "pip", "--disable-pip-version-check", "--no-input"]
        log(f"installing {' '.join(REQUIREMENTS)} into {work}")
        _run([*pip, "install", "--upgrade", "pip"], "upgrading pip")
        _run([*pip, "install", *REQUIREMENTS], "installing the old client")
        smoke = _run([str(venv_python(work)), "-c", SMOKE], "importing the old client",
                     env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"})
        versions = json.loads(smoke.stdout.strip().splitlines()[-1])
        (work / MARKER).write_text(json.dumps({
            "requirements": list(REQUIREMENTS), "versions": versions, "base_python": python,
            "build_seconds": round(time.monotonic() - started, 1)}, indent=2) + "\n")
        os.rename(work, final)  # atomic: the venv appears complete or not at all
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    log(f"built {final} in {time.monotonic() - started:.0f}s")


def _run(argv, what: str, env=None) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if proc.returncode == 0:
        return proc
    output = (proc.stdout + proc.stderr).strip()
    for line in output.splitlines():
        if "No matching distribution found" in line:
            raise Unavailable(f"{line.strip()} (Python {_python_version(argv[0])}; "
                              f"needs {' '.join(REQUIREMENTS)})")
    tail = "\n".join(output.splitlines()[-40:])
    raise BuildFailed(f"{what} failed (exit {proc.returncode}): {' '.join(argv)}\n{tail}")


if __name__ == "__main__":
    try:
        print(ensure(log=lambda m: print(m, file=sys.stderr)))
    except Unavailable as exc:
        print(f"unavailable: {exc}", file=sys.stderr)
        sys.exit(3)
