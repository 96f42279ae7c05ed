"""Find the rule files, which live at the top of the repository but ship in the package.

``rules/`` is installed as ``sigcheck/ruledefs``; when sigcheck runs from a
source checkout (no install, or ``python -m sigcheck`` from the repository
root) it is found beside the ``sigcheck/`` directory instead.  (``fixtures/``
is handled in ``sigcheck/__init__.py``: it is a package, not data.)
"""

from __future__ import annotations

import os

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(PACKAGE_DIR)


def rules_dir() -> str:
    for candidate in (os.path.join(PACKAGE_DIR, "ruledefs"), os.path.join(SOURCE_ROOT, "rules")):
        if os.path.isdir(candidate) and any(n.endswith(".toml") for n in os.listdir(candidate)):
            return candidate
    raise FileNotFoundError(f"no rules/*.toml found next to {PACKAGE_DIR}")
