"""Find the rooms at the top of the repository -- ``rules/`` and ``fixtures/`` -- one way.

Both live beside ``sigcheck/`` in a source checkout and ship inside the
package when installed (pyproject's ``package-dir``): ``rules/`` as
``sigcheck/ruledefs`` (``sigcheck/rules.py`` holds the name ``rules``),
``fixtures/`` as ``sigcheck/fixtures``.  ``room`` looks inside the package
first, then at the top of the checkout, for either.  The fixtures are Python
(``import sigcheck.fixtures``): in a checkout, ``sigcheck/__init__.py`` puts the
checkout root on the package's path when ``room`` found them there.
"""

from __future__ import annotations

import os

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(PACKAGE_DIR)
# top-level directory -> its name inside the installed package
ROOMS = {"rules": "ruledefs", "fixtures": "fixtures"}
# what makes a directory the room, not an empty or unrelated one
_MARKS = {"rules": lambda names: any(n.endswith(".toml") for n in names),
          "fixtures": lambda names: "__init__.py" in names}


def room(name: str) -> str:
    """The directory of ``rules`` or ``fixtures``: installed in the package, else at the top of the checkout."""
    for candidate in (os.path.join(PACKAGE_DIR, ROOMS[name]), os.path.join(SOURCE_ROOT, name)):
        if os.path.isdir(candidate) and _MARKS[name](os.listdir(candidate)):
            return candidate
    raise FileNotFoundError(f"no {name}/ found in or next to {PACKAGE_DIR}")


def rules_dir() -> str:
    return room("rules")


def checkout_fixtures_parent():
    """The checkout root when the fixtures are only there (not installed in the package), else None."""
    try:
        found = room("fixtures")
    except FileNotFoundError:
        return None
    return None if os.path.dirname(found) == PACKAGE_DIR else os.path.dirname(found)
