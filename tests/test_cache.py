"""The result cache: keys, hits, misses after a file or option change, damaged entries, atomic writes."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import replace
from types import MappingProxyType

import pytest

import sigcheck.cache
from helpers import run_sigcheck_inprocess
from sigcheck.api import check
from sigcheck.cache import ReportCache, content_digest, default_cache_dir
from sigcheck.config import Config, load_config
from sigcheck.results import ErrorInfo, Report

STATIC = Config(static=True)


@pytest.fixture()
def module(modules, tmp_path):
    """A private copy of a conformant module, free to be changed."""
    return str(shutil.copytree(modules.build("fv-conformant"), tmp_path / "module"))


def entries(directory) -> list:
    return sorted(glob.glob(os.path.join(str(directory), "*", "*.json")))


def test_the_key_follows_the_files_the_options_and_the_versions(module, tmp_path, monkeypatch):
    cache = ReportCache(str(tmp_path / "c"), STATIC)
    key = cache.key(module)
    assert key == ReportCache(str(tmp_path / "other"), STATIC).key(module)  # a value, not a place
    assert key != ReportCache("c", replace(STATIC, options=MappingProxyType(
        {"IMG307": MappingProxyType({"max_divisor": 1.0})}))).key(module)
    assert key != ReportCache("c", replace(STATIC, select=("IMG",))).key(module)
    assert key == ReportCache("c", replace(STATIC, jobs=3, timeout=9.0)).key(module)  # no bearing on results
    monkeypatch.setattr(sigcheck.cache, "__version__", "99.0")
    assert ReportCache("c", STATIC).key(module) != key
    monkeypatch.undo()
    with open(os.path.join(module, "variables", "variables.data-00000-of-00001"), "ab") as f:
        f.write(b"\0")
    assert cache.key(module) != key


def test_tensorflow_s_version_comes_from_package_metadata_without_importing_it():
    probe = ("import sys; from sigcheck.cache import tensorflow_version; v = tensorflow_version(); "
             "print(v, 'tensorflow' in sys.modules)")
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    # TensorFlow's own answer, in this process: the suite's workers have imported it already (fixture
    # builds, tests/test_protos.py), where a child would pay a whole TensorFlow import for one string.
    from sigcheck.runtime.tfimport import import_tensorflow

    assert found[1] == "False"
    assert found[0].split("==")[1] == import_tensorflow().__version__


def test_urls_and_missing_paths_have_no_key(tmp_path):
    assert content_digest("https://tfhub.dev/google/x/1") is None
    assert content_digest(str(tmp_path / "missing")) is None


def test_a_damaged_or_foreign_entry_is_a_miss_and_is_rewritten(module, tmp_path):
    cache = ReportCache(str(tmp_path / "c"), STATIC)
    report = check(module, STATIC)
    key = cache.key(module)
    cache.put(key, report)
    [entry] = entries(tmp_path / "c")
    assert cache.get(module, key) == report
    for damage in (b"{\"schema\": \"sigcheck-cache/1\", \"key\": \"", b"\x00\xff", b"[]",
                   json.dumps({"schema": "sigcheck-cache/1", "key": "0" * 64, "report": report.to_json()}).encode()):
        with open(entry, "wb") as f:
            f.write(damage)
        assert cache.get(module, key) is None
    cache.put(key, report)
    assert cache.get(module, key) == report


def test_reports_with_errors_are_not_stored(module, tmp_path):
    cache = ReportCache(str(tmp_path / "c"), STATIC)
    report = check(module, STATIC)
    cache.put(cache.key(module), Report(module=module, error=ErrorInfo("read", "gone")))
    timed_out = replace(report, results=(replace(report.results[0], status="error"),) + report.results[1:])
    cache.put(cache.key(module), timed_out)
    assert entries(tmp_path / "c") == []


def test_concurrent_writers_never_leave_a_partial_entry(module, tmp_path):
    cache = ReportCache(str(tmp_path / "c"), STATIC)
    report, key = check(module, STATIC), cache.key(module)
    seen, stop = [], threading.Event()

    def write():
        while not stop.is_set():
            ReportCache(str(tmp_path / "c"), STATIC).put(key, report)

    def read():  # 300 reads, and on a loaded machine as many more as it takes a writer to land one entry
        deadline = time.monotonic() + 60
        while len(seen) < 300 or (report not in seen and time.monotonic() < deadline):
            seen.append(cache.get(module, key))

    writers = [threading.Thread(target=write) for _ in range(3)]
    for thread in writers:
        thread.start()
    read()
    stop.set()
    for thread in writers:
        thread.join()
    assert all(r is None or r == report for r in seen) and seen.count(report) > 0
    assert [os.path.basename(p) for p in glob.glob(str(tmp_path / "c" / "*" / "*"))] == [f"{key}.json"]


def test_scan_uses_the_cache_and_misses_after_a_file_or_option_change(module, modules, tmp_path):
    root = tmp_path / "exports"
    root.mkdir()
    shutil.move(module, root / "a")
    shutil.copytree(modules.build("img302-uint8-input"), root / "b")
    cache = tmp_path / "cache"
    first = run_sigcheck_inprocess("scan", root, "--static", "--format", "json", "--cache", cache)
    assert first.returncode == 1 and len(entries(cache)) == 2
    # A hit is the stored report, whatever it says: mark one to see it come back.
    for path in entries(cache):
        entry = json.load(open(path))
        if entry["report"]["module"].endswith("a"):
            entry["report"]["results"][0]["message"] = "from the cache"
            json.dump(entry, open(path, "w"))
    second = run_sigcheck_inprocess("scan", root, "--static", "--format", "json", "--cache", cache)
    assert second.json["reports"][0]["results"][0]["message"] == "from the cache"
    assert [r["verdict"] for r in second.json["reports"]] == ["pass", "fail"]
    # An option change is a miss for every module, a file change for that module.
    assert "from the cache" not in run_sigcheck_inprocess("scan", root, "--static", "--format", "json", "--cache", cache,
                                                "--ignore", "IMG307").stdout
    assert len(entries(cache)) == 4
    with open(root / "a" / "saved_model.pb", "ab") as f:
        f.write(b"")  # not a change: same bytes
    os.utime(root / "a" / "saved_model.pb")
    assert "from the cache" in run_sigcheck_inprocess("scan", root, "--static", "--format", "json", "--cache", cache).stdout
    (root / "a" / "assets").mkdir()
    (root / "a" / "assets" / "labels.txt").write_text("cat\n")
    third = run_sigcheck_inprocess("scan", root, "--static", "--format", "json", "--cache", cache)
    assert "from the cache" not in third.stdout and len(entries(cache)) == 5
    # One module checked directly shares the entries.
    single = run_sigcheck_inprocess(root / "b", "--static", "--format", "json", "--cache", cache)
    assert single.json == second.json["reports"][1] and len(entries(cache)) == 5


def test_no_cache_unless_asked_and_the_default_directory_is_the_user_cache(module, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert run_sigcheck_inprocess(module, module, "--static", env=env).returncode == 0
    assert os.listdir(home) == [] and not (tmp_path / "xdg").exists()
    assert run_sigcheck_inprocess(module, "--static", "--cache", env=env).returncode == 0
    assert len(entries(tmp_path / "xdg" / "sigcheck" / "reports")) == 1
    no_cache = run_sigcheck_inprocess(module, "--static", "--cache", "--no-cache", env={**env, "XDG_CACHE_HOME": str(home)})
    assert no_cache.returncode == 0
    assert os.listdir(home) == []


def test_the_config_file_turns_the_cache_on(tmp_path, monkeypatch):
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.sigcheck]\ncache = ".sigcheck-cache"\n')
    assert load_config(str(config)).cache_dir == str(tmp_path / ".sigcheck-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    config.write_text("[tool.sigcheck]\ncache = true\n")
    assert load_config(str(config)).cache_dir == default_cache_dir() == str(tmp_path / "xdg" / "sigcheck" / "reports")
    config.write_text("[tool.sigcheck]\ncache = 3\n")
    with pytest.raises(Exception, match="cache must be true, false or a directory"):
        load_config(str(config))
