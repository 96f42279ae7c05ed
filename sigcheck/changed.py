"""Changed files -> the modules they belong to, for a pre-commit hook.

pre-commit passes the files of a commit; a module is a directory (holding
saved_model.pb, with variables/ and assets/ below it) or an archive.  Any file
inside a module directory stands for that module; each module is checked once.
"""

from __future__ import annotations

import os

from .resolve import is_archive


def modules_of(files) -> list:
    """Module paths (as relative as the files were given), in first-seen order, without repeats."""
    found = {}
    for name in files:
        module = name if is_archive(name) else _module_directory(name)
        if module is not None:
            found.setdefault(os.path.normpath(module), None)
    return list(found)


def _module_directory(name: str):
    """The nearest directory at or above ``name`` holding saved_model.pb (not above the working directory)."""
    top = os.path.abspath(os.curdir)
    directory = os.path.abspath(name if os.path.isdir(name) else os.path.dirname(name) or os.curdir)
    while True:
        if os.path.isfile(os.path.join(directory, "saved_model.pb")):
            inside = directory == top or directory.startswith(top + os.sep)
            return os.path.relpath(directory, top) if inside else directory
        if directory == top or os.path.dirname(directory) == directory:
            return None
        directory = os.path.dirname(directory)
