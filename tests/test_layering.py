"""Layers only look down: every sigcheck module's imports, parsed with ast, point to its
own layer or a lower one.

The layers, lowest first (a module belongs to the longest prefix listed):

0. basics     -- errors, results, vocabulary (how results are named and ordered), probes (the probe catalogue and the refusal marker),
                 record (the frozen value classes every layer defines),
                 bundled, pytest_rootdir, runtime.tfimport (the one way to import
                 TensorFlow, a leaf used by resolve and the worker), the package itself
1. resolve    -- handle -> local directory (resolve, changed)
2. facts      -- protobuf-only reading, frozen records
3. analysis   -- pure graph analyses shared by checks and runtime
4. runtime | checks -- siblings that never import each other: the runtime produces
                 observations, checks read them as plain objects (and the facts)
5. engine     -- engine, rules (binds rules/*.toml to checks), ruletable (rules/*.toml pre-parsed)
6. render     -- renderers, ruledocs, outputs
7. api        -- api, config, cache, many (api.check_many delegates to many, which
                 runs api.check on worker threads: one layer)
8. faces      -- cli, __main__, commands, stream, cluster, registry, pytest_plugin,
                 the in-process test builders (testing, testing_runtime),
                 the repository's fixtures package

Imports inside functions count too: a lazy upward import is still upward.  A new
module must be placed in LAYERS (the test fails on a module it cannot place).
"""

from __future__ import annotations

import ast
import os
import re
import sys

import pytest

import sigcheck

PACKAGE_DIR = os.path.dirname(sigcheck.__file__)

LAYERS = (
    ("basics", ("sigcheck", "sigcheck.errors", "sigcheck.results", "sigcheck.probes", "sigcheck.bundled", "sigcheck.vocabulary", "sigcheck.schemas",
                "sigcheck.record",
                "sigcheck.pytest_rootdir", "sigcheck.runtime.tfimport")),
    ("resolve", ("sigcheck.resolve", "sigcheck.changed")),
    ("facts", ("sigcheck.facts",)),
    ("analysis", ("sigcheck.analysis",)),
    (("runtime", "checks"), ("sigcheck.runtime", "sigcheck.checks")),
    ("engine", ("sigcheck.engine", "sigcheck.rules", "sigcheck.ruletable")),
    ("render", ("sigcheck.render", "sigcheck.ruledocs", "sigcheck.outputs")),
    ("api", ("sigcheck.api", "sigcheck.config", "sigcheck.cache", "sigcheck.many", "sigcheck.diffing")),
    ("faces", ("sigcheck.cli", "sigcheck.__main__", "sigcheck.commands", "sigcheck.stream", "sigcheck.cluster", "sigcheck.cluster_worker",
               "sigcheck.registry", "sigcheck.pytest_plugin", "sigcheck.fixtures", "sigcheck.testing",
               "sigcheck.testing_runtime")),
)
RULE_CODE = re.compile(r"\b[A-Z]{3}[1-9]\d{2}\b")


def place(module: str):
    """(rank, name) of ``module``'s layer by the longest matching prefix; None if unplaced.
    In a sibling layer the name is the sibling's own (``runtime`` or ``checks``)."""
    best = None
    for rank, (name, prefixes) in enumerate(LAYERS):
        for index, prefix in enumerate(prefixes):
            if module == prefix or (prefix != "sigcheck" and module.startswith(prefix + ".")):
                if best is None or len(prefix) > best[2]:
                    sibling = name[index] if isinstance(name, tuple) else name
                    best = (rank, sibling, len(prefix))
    return None if best is None else best[:2]


def violations(graph: dict) -> list:
    """``importer imports imported (layer -> layer)`` for every import that looks up or sideways
    between siblings, or involves a module no layer holds."""
    found = []
    for importer, imported_all in sorted(graph.items()):
        here = place(importer)
        if here is None:
            found.append(f"{importer} is in no layer")
            continue
        for imported in sorted(imported_all):
            there = place(imported)
            if there is None:
                found.append(f"{importer} imports {imported}, which is in no layer")
            elif there[0] > here[0] or (there[0] == here[0] and there[1] != here[1]):
                found.append(f"{importer} imports {imported} ({here[1]} -> {there[1]})")
    return found


def _modules() -> dict:
    """module name -> path, for every .py file of the package."""
    found = {}
    for directory, _, files in os.walk(PACKAGE_DIR):
        for filename in files:
            if filename.endswith(".py"):
                path = os.path.join(directory, filename)
                rel = os.path.relpath(path, os.path.dirname(PACKAGE_DIR))[:-3].replace(os.sep, ".")
                found[rel.removesuffix(".__init__")] = path
    return found


def import_graph() -> dict:
    """module -> the sigcheck modules it imports (anywhere in the file), from the source."""
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(a.name for a in node.names if a.name.split(".")[0] == "sigcheck")
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                if target.split(".")[0] != "sigcheck":
                    continue
                for alias in node.names:  # `from . import check` names a module or an attribute
                    candidate = f"{target}.{alias.name}"
                    imported.add(candidate if candidate in modules else target)
        imported.discard(module)
        graph[module] = imported
    return graph


def test_no_module_imports_from_a_layer_above_it():
    graph = import_graph()
    assert "sigcheck.runtime.stage" in graph and "sigcheck.checks._observed" in graph  # the parse found them
    assert violations(graph) == []


def test_an_upward_import_is_caught():
    graph = {
        "sigcheck.facts.model": {"sigcheck.errors"},  # down: fine
        "sigcheck.runtime.stage": {"sigcheck.engine", "sigcheck.analysis.execution"},  # up: engine
        "sigcheck.checks._observed": {"sigcheck.runtime.batches"},  # sideways between siblings
        "sigcheck.render.terminal": {"sigcheck.api"},
        "sigcheck.newthing": {"sigcheck.errors"},  # unplaced
    }
    assert violations(graph) == [
        "sigcheck.checks._observed imports sigcheck.runtime.batches (checks -> runtime)",
        "sigcheck.newthing is in no layer",
        "sigcheck.render.terminal imports sigcheck.api (render -> api)",
        "sigcheck.runtime.stage imports sigcheck.engine (runtime -> engine)",
    ]


def test_relative_imports_are_resolved(tmp_path, monkeypatch):
    """The parser sees `from ..engine import x` inside a function as an import of sigcheck.engine."""
    package = tmp_path / "sigcheck"
    (package / "runtime").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "engine.py").write_text("")
    (package / "runtime" / "__init__.py").write_text("")
    (package / "runtime" / "stage.py").write_text("def f():\n    from ..engine import evaluate\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE_DIR", str(package))
    graph = import_graph()
    assert graph["sigcheck.runtime.stage"] == {"sigcheck.engine"}
    assert violations(graph) == ["sigcheck.runtime.stage imports sigcheck.engine (runtime -> engine)"]


@pytest.mark.parametrize("module", sorted(m for m in _modules() if m.startswith("sigcheck.runtime")))
def test_runtime_names_no_rule_code(module):
    """Which rule reads what is declared on the checks; the runtime's code and messages name no rule."""
    with open(_modules()[module], encoding="utf-8") as f:
        tree = ast.parse(f.read())
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert [s for s in strings if RULE_CODE.search(s)] == []
