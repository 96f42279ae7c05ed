"""Turn a handle (directory, .tar.gz/.tgz, http(s) URL) into a local module directory.

Resolvers are asked in turn whether they support the handle, as
tensorflow_hub's resolvers are.  Archives are read twice: a first streaming
pass checks every member header (no absolute paths, no ``..``, no links or
devices, a bound on the total size) and a second extracts member by member
into a fresh temporary directory that is removed afterwards, so a refused
archive writes nothing and nothing lands outside that directory.
URLs go through tensorflow_hub's own resolver and cache (``TFHUB_CACHE_DIR``),
which imports TensorFlow; local handles never do.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import tempfile
from typing import TYPE_CHECKING, Iterator

from .errors import ResolveError, one_line

if TYPE_CHECKING:
    import tarfile

DEFAULT_MAX_ARCHIVE_BYTES = 4 * 1024**3
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
_CHUNK = 1 << 20


def is_url(handle: str) -> bool:
    return handle.startswith(("http://", "https://"))


def is_archive(handle: str) -> bool:
    return handle.lower().endswith(ARCHIVE_SUFFIXES)


def local_directory(handle: str):
    """The module directory a local handle names (before resolving), or None
    for archives and URLs, whose directories only exist once resolved."""
    if is_url(handle) or is_archive(handle):
        return None
    if os.path.basename(handle) == "saved_model.pb":
        return os.path.dirname(os.path.abspath(handle))
    return os.path.abspath(handle) if os.path.isdir(handle) else None


@contextlib.contextmanager
def resolve(handle: str, *, max_archive_bytes: int = DEFAULT_MAX_ARCHIVE_BYTES) -> Iterator[str]:
    """Yield a local module directory for ``handle``; clean up afterwards."""
    if is_url(handle):
        yield _resolve_url(handle)
    elif os.path.isfile(handle) and is_archive(handle):
        with tempfile.TemporaryDirectory(prefix="sigcheck-") as tmp:
            yield extract_archive(handle, tmp, max_bytes=max_archive_bytes)
    elif os.path.isfile(handle) and os.path.basename(handle) == "saved_model.pb":
        yield os.path.dirname(os.path.abspath(handle))
    else:
        # A directory, or something missing/unsupported: the reader says which.
        yield handle


def extract_archive(archive: str, dest: str, *, max_bytes: int) -> str:
    """Safely extract ``archive`` under ``dest``; return the module directory.

    Two streaming passes: the first reads every member header (and skips the
    data) and refuses the archive if any member is unsafe or the total is too
    big; only then does the second write anything."""
    import tarfile  # here, not at the top: a local module's check never opens an archive
    import zlib

    try:
        _validate_members(archive, max_bytes)
        root = os.path.join(dest, "module")
        os.mkdir(root)
        with tarfile.open(archive, mode="r|*") as tar:
            for member in tar:
                relative = _checked_member_path(member)
                target = os.path.join(root, *relative.split("/")) if relative else root
                if member.isdir():
                    os.makedirs(target, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                _copy_member(tar, member, target)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ResolveError(f"{archive}: not a readable tar archive ({_reason(exc)})") from None
    return _module_root(root)


def _validate_members(archive: str, max_bytes: int) -> None:
    """Refuse the archive on its first unsafe member header, before anything is written."""
    import tarfile

    total = 0
    with tarfile.open(archive, mode="r|*") as tar:
        for member in tar:
            _checked_member_path(member)
            total += member.size if member.isfile() else 0
            if total > max_bytes:
                raise ResolveError(
                    f"{archive}: refused: uncompressed size exceeds the bound of {_human(max_bytes)} "
                    "(raise it with --max-archive-size)")


def _checked_member_path(member: tarfile.TarInfo) -> str:
    name = member.name
    if not (member.isfile() or member.isdir()):
        kind = "link" if (member.issym() or member.islnk()) else "device or special file"
        raise ResolveError(f"refused archive member {name!r}: a {kind} (only files and directories are allowed)")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ResolveError(f"refused archive member {name!r}: absolute path")
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ResolveError(f"refused archive member {name!r}: path traversal ('..')")
    return posixpath.join(*parts) if parts else ""


def _copy_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: str) -> None:
    source = tar.extractfile(member)
    with open(target, "xb") as out:
        remaining = member.size
        while remaining > 0:
            chunk = source.read(min(_CHUNK, remaining))
            if not chunk:
                raise EOFError("archive truncated")
            out.write(chunk)
            remaining -= len(chunk)


def _module_root(root: str) -> str:
    """The extracted directory, or its single subdirectory if only that holds the module."""
    if os.path.exists(os.path.join(root, "saved_model.pb")):
        return root
    entries = os.listdir(root)
    if len(entries) == 1 and os.path.isfile(os.path.join(root, entries[0], "saved_model.pb")):
        return os.path.join(root, entries[0])
    return root


def _resolve_url(handle: str) -> str:
    from .runtime.tfimport import import_tensorflow, quiet_native_stderr

    try:
        import_tensorflow()
        with quiet_native_stderr():
            import tensorflow_hub as hub  # imports TensorFlow: only URLs need it
    except ImportError as exc:  # pragma: no cover - a broken installation
        raise ResolveError(f"{handle}: resolving URLs needs tensorflow_hub ({exc})") from None
    try:
        return hub.resolve(handle)
    except Exception as exc:  # network, HTTP status, bad archive: all one-line errors
        raise ResolveError(f"{handle}: could not be resolved by tensorflow_hub ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = one_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def parse_size(text: str) -> int:
    """``4GiB``, ``500MB``, ``1e9`` -> bytes."""
    units = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
             "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "t": 1000**4, "tb": 1000**4, "tib": 1024**4}
    value = str(text).strip().lower()
    number = value.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = value[len(number):].strip()
    try:
        size = int(float(number) * units[unit])
    except (ValueError, KeyError, OverflowError):  # OverflowError: 1e999 is infinite
        raise ValueError(f"not a size: {text!r} (examples: 500MiB, 4GiB)") from None
    if size > 2**63 - 1:
        raise ValueError(f"size too large: {text!r}")
    if size <= 0:
        raise ValueError(f"size must be positive: {text!r}")
    return size
