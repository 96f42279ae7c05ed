"""Where the CI renderers (junit, sarif, gitlab, markdown, github, concise) point a result.

(How a result is *named* -- ``IMG302 input-dtype [image_feature_vector]`` --
is ``sigcheck/vocabulary.py``, shared with the terminal and the pytest plugin.)
The module has no source lines, so every
renderer points at the file a result is about (``saved_model.pb``, or
``tfhub_module.pb`` for the module definition) inside the module as given.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re

from ..vocabulary import MODULE_FILES

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def artifact_file(result) -> str:
    """The file a result is about: the location itself when it names a file (HUB101, HUB102)."""
    return result.location if result.location in MODULE_FILES else "saved_model.pb"


def logical_location(result):
    """The path into the module (``tags[]/signatures/default/inputs/images``), or None."""
    return None if result.location in MODULE_FILES else result.location


def is_remote(handle: str) -> bool:
    """Any ``scheme://`` handle (http, gs, hf...): it has no path relative to a directory.
    Broader than ``resolve.is_url``, which is what sigcheck itself downloads."""
    return bool(_URL.match(handle))


def artifact_path(module: str, filename: str = "") -> str:
    """``exports/model/saved_model.pb``: the handle as given (normalised), joined with the file.

    Archives and URLs get the same treatment (``m.tgz/saved_model.pb``): the
    extracted directory is gone by the time anyone reads the report, and the
    handle is what the user recognises.
    """
    if is_remote(module):
        return "/".join(filter(None, [module.rstrip("/"), filename]))
    return posixpath.join(posixpath.normpath(module.replace(os.sep, "/")), filename).rstrip("/") or "/"


def fingerprint(module: str, result) -> str:
    """Stable across runs and message rewordings, so dashboards track one alert per place."""
    key = "\0".join([result.rule, module, str(result.location), str(result.tags), str(result.signature)])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def relative_to_root(module: str, filename: str = "", root=None):
    """``exports/m/saved_model.pb``: a local module's file relative to ``root`` (default: the cwd).

    None for URLs and for paths outside ``root``: code-scanning and merge-request
    dashboards match findings to repository files by repository-relative paths,
    and an absolute path (``/tmp/...``, ``/builds/...``) never matches one."""
    if is_remote(module):
        return None
    root = os.path.abspath(root or os.getcwd())
    path = os.path.abspath(os.path.join(module, filename)) if filename else os.path.abspath(module)
    try:
        relative = os.path.relpath(path, root)
    except ValueError:  # another drive on Windows
        return None
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return relative.replace(os.sep, "/")
