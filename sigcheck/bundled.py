"""Find the files that live at the top of the repository but ship in the package.

``rules/`` and ``fixtures/`` are installed as ``sigcheck/ruledefs`` and
``sigcheck.fixtures``; when sigcheck runs from a source checkout (no install,
or ``python -m sigcheck`` from the repository root) they are found beside the
``sigcheck/`` directory instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(PACKAGE_DIR)


def rules_dir() -> str:
    for candidate in (os.path.join(PACKAGE_DIR, "ruledefs"), os.path.join(SOURCE_ROOT, "rules")):
        if os.path.isdir(candidate) and any(n.endswith(".toml") for n in os.listdir(candidate)):
            return candidate
    raise FileNotFoundError(f"no rules/*.toml found next to {PACKAGE_DIR}")


def fixtures():
    """The ``sigcheck.fixtures`` package (module recipes)."""
    try:
        return importlib.import_module("sigcheck.fixtures")
    except ModuleNotFoundError:
        source = os.path.join(SOURCE_ROOT, "fixtures")
        if not os.path.isfile(os.path.join(source, "__init__.py")):
            raise
        spec = importlib.util.spec_from_file_location(
            "sigcheck.fixtures", os.path.join(source, "__init__.py"), submodule_search_locations=[source])
        module = importlib.util.module_from_spec(spec)
        sys.modules["sigcheck.fixtures"] = module
        spec.loader.exec_module(module)
        return module
