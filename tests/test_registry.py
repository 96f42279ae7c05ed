"""Streamed scans: --format jsonl, --resume after an interrupted scan, progress, --cluster's usage errors."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from helpers import run_sigcheck, run_sigcheck_inprocess
from sigcheck.api import check
from sigcheck.cluster import Window, parse_cluster
from sigcheck.config import Config
from sigcheck.errors import UsageError
from sigcheck.registry import ScanProgress
from sigcheck.results import ErrorInfo, Report


@pytest.fixture()
def exports(modules, tmp_path):
    root = tmp_path / "exports"
    root.mkdir()
    shutil.copytree(modules.build("fv-conformant"), root / "a-features")
    shutil.copytree(modules.build("img302-uint8-input"), root / "b-uint8")
    return root


def lines(path) -> list:
    return [json.loads(text) for text in open(path, encoding="utf-8")]


def test_a_report_survives_a_trip_through_json(modules):
    report = check(modules.build("img302-uint8-input"), Config(static=True))
    assert Report.from_json(json.loads(json.dumps(report.to_json()))) == report
    broken = Report(module="m", error=ErrorInfo("read", "gone"))
    assert Report.from_json(broken.to_json()) == broken
    for bad in ({}, {"schema": "sigcheck-report/1"}, {**report.to_json(), "verdict": "pass"}, []):
        with pytest.raises(ValueError):
            Report.from_json(bad)


def test_jsonl_is_one_report_per_line_for_one_module_or_many(exports):
    one = run_sigcheck_inprocess(exports / "a-features", "--static", "--format", "jsonl")
    assert [r["verdict"] for r in map(json.loads, one.stdout.splitlines())] == ["pass"]
    many = run_sigcheck_inprocess("scan", exports, "--static", "--format", "jsonl", "--jobs", "2")
    reports = [json.loads(text) for text in many.stdout.splitlines()]
    assert many.returncode == 1
    assert sorted((r["module"], r["verdict"]) for r in reports) == [
        (str(exports / "a-features"), "pass"), (str(exports / "b-uint8"), "fail")]
    assert all(r["schema"] == "sigcheck-report/1" for r in reports)


@pytest.mark.slow
@pytest.mark.runtime
def test_resume_after_an_interrupted_jsonl_scan_checks_only_the_rest(modules, tmp_path):
    root = tmp_path / "exports"
    root.mkdir()
    shutil.copytree(modules.build("fv-conformant"), root / "a-features")
    shutil.copytree(modules.build("run-hangs"), root / "b-hangs")
    shutil.copytree(modules.build("img302-uint8-input"), root / "c-uint8")
    out = tmp_path / "scan.jsonl"
    scan = subprocess.Popen([sys.executable, "-m", "sigcheck", "scan", root, "--jobs", "1", "--format", "jsonl",
                             "-o", out, "--timeout", "600"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not (out.exists() and out.read_text().count("\n") >= 1) and time.monotonic() < deadline:
            time.sleep(0.2)
        scan.send_signal(signal.SIGINT)  # stuck in b-hangs: interrupted
        assert scan.wait(timeout=60) == 130
    finally:
        if scan.poll() is None:
            scan.kill()
    assert [r["module"] for r in lines(out)] == [str(root / "a-features")]
    # Mark the line to see it kept, and tear a second one as a kill mid-write would.
    first = lines(out)[0]
    first["results"][0]["message"] = "from the first run"
    out.write_text(json.dumps(first) + "\n" + '{"schema": "sigcheck-report/1", "module": "')
    resumed = run_sigcheck("scan", root, "--jobs", "1", "--format", "jsonl", "-o", out, "--resume", out,
                           "--static")
    assert resumed.returncode == 1, resumed.stderr
    reports = lines(out)
    assert [r["module"] for r in reports] == [str(root / n) for n in ("a-features", "b-hangs", "c-uint8")]
    assert reports[0]["results"][0]["message"] == "from the first run"
    assert [r["verdict"] for r in reports] == ["pass", "pass", "fail"]


def test_resume_into_another_format_includes_the_reports_taken_over(exports, tmp_path):
    done = tmp_path / "done.jsonl"
    report = check(str(exports / "b-uint8"), Config(static=True))
    done.write_text(json.dumps(report.to_json()) + "\n")
    run = run_sigcheck_inprocess("scan", exports, "--static", "--format", "json", "--resume", done)
    assert run.returncode == 1  # the resumed report fails
    assert [(r["module"], r["verdict"]) for r in run.json["reports"]] == [
        (str(exports / "a-features"), "pass"), (str(exports / "b-uint8"), "fail")]
    missing = run_sigcheck_inprocess("scan", exports, "--static", "--format", "jsonl", "--resume", tmp_path / "none.jsonl")
    assert missing.returncode == 1 and len(missing.stdout.splitlines()) == 2  # nothing to resume: all checked


def test_progress_shows_done_failures_rate_and_eta():
    stream = io.StringIO()
    progress = ScanProgress(4, skipped=2, stream=stream)
    assert progress.text() == "sigcheck: 0/4 modules, 0 failing, 2 resumed"
    progress.started -= 30
    progress.module_done(Report(module="a", error=ErrorInfo("read", "gone")))
    progress.module_done(Report(module="b"))
    text = progress.text()
    assert text.startswith("sigcheck: 2/4 modules, 1 failing, 2 resumed, 4.0/min, ETA 0:3")
    assert stream.getvalue().count("\r") == 3


def test_cluster_addresses_are_validated():
    assert parse_cluster("local:3") == ("local", 3)
    assert parse_cluster("local")[0] == "local"
    assert parse_cluster("tcp://10.0.0.1:8786") == ("address", "tcp://10.0.0.1:8786")
    for bad in ("local:0", "local:x", "10.0.0.1:8786"):
        with pytest.raises(UsageError):
            parse_cluster(bad)


def test_cluster_usage_errors_are_one_line_and_exit_2(exports):
    bad = run_sigcheck_inprocess("scan", exports, "--static", "--cluster", "local:zero")
    assert bad.returncode == 2 and bad.error_lines == [
        "sigcheck: error: --cluster local:zero: the number of local workers must be a whole number >= 1"]
    single = run_sigcheck_inprocess(exports / "a-features", "--static", "--cluster", "local")
    assert single.returncode == 2 and "use 'sigcheck scan DIR'" in single.error_lines[0]
    unreachable = run_sigcheck("scan", exports, "--static", "--cluster", "tcp://127.0.0.1:9",
                               env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    assert unreachable.returncode == 2 and len(unreachable.error_lines) == 1
    assert "cannot reach the scheduler" in unreachable.error_lines[0]


def test_a_local_cluster_that_cannot_start_is_one_line_and_exit_2(exports):
    broken = run_sigcheck("scan", exports, "--static", "--cluster", "local:2",
                          env={"DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "many"})
    assert broken.returncode == 2 and len(broken.error_lines) == 1, broken.stderr
    assert broken.error_lines[0].startswith("sigcheck: error: --cluster local:2: the local Dask cluster did not start: ")
    assert "worker-saturation" in broken.error_lines[0]


def test_without_dask_the_cluster_option_says_what_to_install(exports):
    blocked = ("import sys; sys.modules['distributed'] = sys.modules['dask'] = None; "
               "from sigcheck.cli import main; sys.exit(main(sys.argv[1:]))")
    run = subprocess.run([sys.executable, "-c", blocked, "scan", str(exports), "--static", "--cluster", "local:2"],
                         capture_output=True, text=True, cwd=os.path.dirname(exports))
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "sigcheck: error: --cluster needs Dask distributed, which is not installed: pip install 'sigcheck[dask]'"]


@pytest.mark.parametrize("size", [1, 4, 16, 37])
def test_the_cluster_window_never_holds_more_than_its_size_and_submits_in_batches(size):
    import random

    shuffle = random.Random(size)
    calls = []

    def submit(chunk):
        calls.append(len(chunk))
        return [f"key-{index}" for index, _ in chunk]

    window = Window(enumerate(f"module-{i}" for i in range(203)), submit, size=size)
    window.fill()
    finished = []
    while window.pending:
        assert len(window.pending) <= size
        finished.append(window.done(shuffle.choice(sorted(window.pending))))
        window.fill()
    assert sorted(finished) == [(i, f"module-{i}") for i in range(203)]  # each module exactly once
    assert all(count >= window.batch for count in calls[:-1])  # no graph update for a single module
    assert len(calls) <= 203 // window.batch + 1
