"""Give TensorFlow a path it can open, whatever bytes the module's path holds.

TensorFlow turns every path into UTF-8 text, so a directory whose name is not
valid UTF-8 (which Python carries as surrogate escapes) cannot be opened by
name.  Such a directory is reached through a symlink with an ASCII name in the
worker's own scratch directory; the link is made from the path's exact bytes,
so nothing is lost.
"""

from __future__ import annotations

import os


def tensorflow_path(path: str, scratch: str) -> str:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        alias = os.path.join(scratch, "module")
        os.symlink(os.fsencode(os.path.abspath(path)), os.fsencode(alias), target_is_directory=True)
        return alias
    return path
