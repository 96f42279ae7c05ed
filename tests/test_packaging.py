"""A normal (non-editable) install carries rules/ and fixtures/ inside the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from helpers import REPO


def test_non_editable_install_finds_the_rule_files(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("sigcheck", "rules", "fixtures"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
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
