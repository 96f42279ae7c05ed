"""A normal (non-editable) install carries rules/ and fixtures/ inside the package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from helpers import REPO
from sigcheck.rules import load_rules


def test_non_editable_install_finds_the_rule_files(tmp_path):
    source = _source_tree(tmp_path)
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(source)],
        capture_output=True, text=True, cwd=tmp_path)
    assert install.returncode == 0, install.stderr
    assert sorted(os.listdir(target / "sigcheck" / "ruledefs")) == sorted(
        n for n in os.listdir(REPO / "rules") if n.endswith(".toml"))
    code = ("import sigcheck.rules as r, sigcheck.fixtures as f; "
            "print(r.rules_dir()); print(len(r.load_rules())); print(f.__file__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(target)})
    assert proc.returncode == 0, proc.stderr
    rules_dir, count, fixtures_file = proc.stdout.split()
    assert rules_dir == str(target / "sigcheck" / "ruledefs")
    assert int(count) >= 20
    assert fixtures_file == str(target / "sigcheck" / "fixtures" / "__init__.py")


def _source_tree(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("sigcheck", "rules", "fixtures"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    return source


def _tree_mib(path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


@pytest.mark.slow
def test_wheel_installs_lean_into_a_fresh_venv_and_checks_statically(tmp_path, modules):
    """`python -m build` gives a wheel; installed alone (no TensorFlow) it runs the static hook's job,
    carries the rule files and recipes, and refuses runtime checks in one line (exit 2)."""
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(_source_tree(tmp_path))],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    wheel = next(dist.glob("sigcheck-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python, sigcheck = venv / "bin" / "python", venv / "bin" / "sigcheck"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-2000:]
    assert _tree_mib(venv) < 100, f"the static hook's environment is {_tree_mib(venv):.0f} MiB"

    module = modules.build("img302-uint8-input")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    static = subprocess.run([str(sigcheck), "--static", "--format", "json", module], capture_output=True, text=True,
                            env=env, cwd=tmp_path)
    assert static.returncode == 1, static.stderr
    assert {r["rule"] for r in json.loads(static.stdout)["results"] if r["status"] == "fail"} == {"IMG302"}
    full = subprocess.run([str(sigcheck), module], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert full.returncode == 2 and full.stdout == ""
    assert full.stderr.strip().splitlines() == [
        "sigcheck: error: runtime checks need TensorFlow, which is not installed: pip install 'sigcheck[tf]', "
        "or check statically with --static"]
    contents = subprocess.run(
        [str(python), "-c", "import importlib.util as u, sigcheck.rules as r, sys; "
                            "print(len(r.load_rules()), u.find_spec('sigcheck.fixtures.catalog') is not None, "
                            "'tensorflow' in sys.modules)"],
        capture_output=True, text=True, env=env, cwd=tmp_path)
    assert contents.stdout.split() == [str(len(load_rules())), "True", "False"], contents.stderr


def test_every_subpackage_is_listed_for_the_wheel():
    """pyproject lists packages by hand (rules/ and fixtures/ are mapped in), so a new subpackage must be added."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "sigcheck").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"
