"""The pre-commit hook as shipped: its entry, given the changed files, checks each module once."""

from __future__ import annotations

import shlex
import shutil

from helpers import REPO, run_sigcheck


def hook() -> dict:
    """The sigcheck-static hook's keys from .pre-commit-hooks.yaml (flat `key: value` lines)."""
    keys = {}
    for line in (REPO / ".pre-commit-hooks.yaml").read_text().splitlines():
        key, sep, value = line.strip().lstrip("- ").partition(":")
        if sep and not line.lstrip().startswith("#"):
            keys[key.strip()] = value.strip()
    return keys


def run_hook(repo, files):
    """What pre-commit runs: the entry, then the changed files (pass_filenames), from the repo root."""
    entry = shlex.split(hook()["entry"])
    assert entry[0] == "sigcheck"
    return run_sigcheck(*entry[1:], *[str(f.relative_to(repo)) for f in files], cwd=repo)


def files_under(path) -> list:
    return sorted(p for p in path.rglob("*") if p.is_file())


def test_the_hook_maps_changed_files_to_modules_and_checks_each_once(modules, tmp_path):
    assert hook()["pass_filenames"] == "true" and "args" not in hook()
    repo = tmp_path / "repo"
    (repo / "exports").mkdir(parents=True)
    shutil.copytree(modules.build("fv-conformant"), repo / "exports" / "good")
    (repo / "README.md").write_text("a publisher's repository\n")
    everything = run_hook(repo, files_under(repo))  # pre-commit run --all-files
    assert everything.returncode == 0, everything.stderr
    assert not everything.tensorflow_imported
    assert "PASS" in everything.stdout

    shutil.copytree(modules.build("img302-uint8-input"), repo / "exports" / "new")
    added = run_hook(repo, files_under(repo / "exports" / "new"))  # the commit that adds a violating module
    assert added.returncode == 1
    assert "IMG302" in added.stdout and "exports/good" not in added.stdout

    both = run_hook(repo, [repo / "README.md", *files_under(repo / "exports")])
    assert both.returncode == 1 and "2 modules: 1 pass, 1 fail" in both.stdout

    unrelated = run_hook(repo, [repo / "README.md"])
    assert (unrelated.returncode, unrelated.stdout, unrelated.error_lines) == (0, "", [])


def test_archives_are_modules_and_scan_takes_options_first(modules, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(modules.build("img302-uint8-input"), repo / "exports" / "bad")
    shutil.make_archive(str(repo / "exports" / "packed"), "gztar", modules.build("fv-conformant"))
    archive = run_hook(repo, [repo / "exports" / "packed.tar.gz"])
    assert archive.returncode == 0 and "PASS" in archive.stdout
    scanned = run_sigcheck("--static", "--format", "json", "scan", "exports", cwd=repo)
    assert scanned.returncode == 1
    assert [r["module"] for r in scanned.json["reports"]] == ["exports/bad", "exports/packed.tar.gz"]
