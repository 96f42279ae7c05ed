"""`scan --cluster local:2`: a real Dask LocalCluster (processes, 2 workers, 1 thread each),
run by a child process of the scan.

Each scan here starts a cluster and TensorFlow in its workers (~10 s), so the
tests share few, mixed corpora instead of one scan per property.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from helpers import run_sigcheck
from test_resolve import make_tarball

pytest.importorskip("distributed", reason="the dask extra is not installed")

pytestmark = pytest.mark.runtime


@pytest.fixture(scope="module")
def mixed(modules, tmp_path_factory):
    """Conformant, failing and not-image modules, one of them an archive."""
    root = tmp_path_factory.mktemp("registry")
    for name in ("fv-conformant", "img302-uint8-input", "out402-float64", "hub102-no-meta-graph"):
        shutil.copytree(modules.build(name), root / name)
    make_tarball(modules.build("classifier-conformant"), root / "classifier.tar.gz")
    return root


def by_module(document) -> dict:
    """module -> report; an archive's facts name the temporary directory it was extracted to."""
    reports = {r["module"]: r for r in document["reports"]}
    for module, report in reports.items():
        if module.endswith(".tar.gz"):
            report["facts"].pop("directory")
    return reports


def test_a_cluster_gives_the_same_reports_as_local_jobs(mixed):
    local = run_sigcheck("scan", mixed, "--jobs", "2", "--format", "json")
    dask = run_sigcheck("scan", mixed, "--cluster", "local:2", "--format", "json")
    assert dask.returncode == local.returncode == 1, dask.stderr
    assert len(by_module(dask.json)) == 5
    assert by_module(dask.json) == by_module(local.json)
    assert dask.json["summary"] == local.json["summary"]
    assert not dask.tensorflow_imported  # the client never imports TensorFlow


def test_a_crashing_a_hanging_and_a_missing_module_fail_only_themselves(modules, tmp_path):
    # The timeout leaves room for a fresh child's TensorFlow import after the abort, on a busy machine.
    good, hangs, aborts = (modules.build(n) for n in ("fv-conformant", "run-hangs", "sec601-abort"))
    missing, cache, scratch = tmp_path / "missing", tmp_path / "cache", tmp_path / "tmp"
    scratch.mkdir()
    run = run_sigcheck(hangs, aborts, missing, good, "--cluster", "local:2", "--format", "jsonl",
                       "--allow-unsafe-ops", "--timeout", "30", "--cache", cache, env={"TMPDIR": str(scratch)})
    assert run.returncode == 2
    reports = {r["module"]: r for r in map(json.loads, run.stdout.splitlines())}
    assert set(reports) == {good, hangs, aborts, str(missing)}
    assert reports[good]["verdict"] == "pass"
    errors = {m: [x["message"] for x in r["results"] if x["status"] == "error"] for m, r in reports.items()}
    assert errors[hangs] and all("did not finish within the timeout of 30s" in m for m in errors[hangs])
    assert errors[aborts] and all("killed by SIGABRT" in m for m in errors[aborts])
    assert reports[str(missing)]["error"]["type"] == "read"
    assert f"{missing}: no such file or directory" in run.stderr
    # Only the report that would come out the same next time is cached.
    assert len(glob.glob(str(cache / "*" / "*.json"))) == 1
    assert _children_left(scratch) == []


def test_a_module_whose_dask_worker_dies_is_retried_once_then_could_not_complete(modules, tmp_path):
    """The Dask worker running the hanging module is killed, then the one that retried it."""
    good, hangs = modules.build("fv-conformant"), modules.build("run-hangs")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    scan = subprocess.Popen(
        [sys.executable, "-m", "sigcheck", hangs, good, "--cluster", "local:2", "--format", "jsonl",
         "--timeout", "600"],
        cwd=tmp_path, env={**os.environ, "TMPDIR": str(scratch)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        killed = [_kill_dask_worker_running(hangs, scratch, scan.pid, avoid=())]
        killed.append(_kill_dask_worker_running(hangs, scratch, scan.pid, avoid=killed))
        stdout, stderr = scan.communicate(timeout=300)
    finally:
        if scan.poll() is None:
            scan.kill()
            scan.communicate()
    assert scan.returncode == 2, stderr
    reports = {r["module"]: r for r in map(json.loads, stdout.splitlines())}
    assert reports[good]["verdict"] == "pass"
    assert reports[hangs]["verdict"] == "error"
    assert reports[hangs]["error"]["type"] == "lost-worker"
    assert "could not complete" in reports[hangs]["error"]["message"]
    time.sleep(1)  # the orphaned children notice their parent is gone within 0.5 s
    assert _children_left(scratch) == []


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_a_local_cluster_ends_with_its_scan_however_the_scan_ends(modules, tmp_path, how):
    """The scheduler and workers of ``local`` run in a child process of the scan (the client's
    process holds the client alone); an interrupted or killed scan leaves none of them behind."""
    registry = tmp_path / "registry"
    for index in range(150):  # --static: each takes milliseconds, yet the scan outlasts its first line
        shutil.copytree(modules.build("fv-conformant"), registry / f"m{index:03d}", copy_function=os.link)
    # Ctrl-C's own handler, even where the suite inherited SIGINT ignored (a shell's background job).
    interruptible = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                     "from sigcheck.cli import main; sys.exit(main(sys.argv[1:]))")
    scan = subprocess.Popen([sys.executable, "-c", interruptible, "scan", registry, "--cluster", "local:2", "--static",
                             "--format", "jsonl"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert scan.stdout.readline(), scan.communicate()[1]  # the cluster runs and reports stream
        hosts = [p for p in _descendants(scan.pid) if "serve_local" in _cmdline(p)]
        assert len(hosts) == 1
        cluster = [hosts[0], *_descendants(hosts[0])]
        assert len(cluster) >= 3  # the host and its two Dask worker processes at least
        assert os.getsid(hosts[0]) != os.getsid(scan.pid)  # Ctrl-C at a terminal reaches the scan alone
        scan.send_signal(how)
        _, stderr = scan.communicate(timeout=60)
    finally:
        if scan.poll() is None:
            scan.kill()
            scan.communicate()
    if how == signal.SIGINT:
        assert scan.returncode == 130 and stderr.decode().strip().splitlines()[-1] == "sigcheck: error: interrupted"
    deadline = time.monotonic() + 30
    while [p for p in cluster if _alive(p)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [(p, _cmdline(p)) for p in cluster if _alive(p)] == []


def _alive(pid: int) -> bool:
    """Running, not exited (an exited process whose parent is gone may linger as a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:].split()[0] not in (b"Z", b"X")


def _kill_dask_worker_running(module: str, scratch, scan_pid: int, avoid) -> int:
    """SIGKILL the Dask worker whose sigcheck child runs ``module`` (found through the plan it
    was given and the stderr file it shares with its parent); its pid."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        for plan in glob.glob(str(scratch / "sigcheck-worker-*" / "module-*" / "plan.json")):
            try:
                if module not in open(plan, encoding="utf-8").read():
                    continue
            except OSError:
                continue
            worker_dir = plan.split(os.sep + "module-")[0]
            for child in _sigcheck_children(scan_pid):
                parent = _ppid(child)
                if parent not in avoid and _stderr_path(child).startswith(worker_dir):
                    os.kill(parent, signal.SIGKILL)
                    return parent
        time.sleep(0.2)
    raise AssertionError(f"no Dask worker ran {module} within 240 s")


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    return int(stat[stat.rfind(b")") + 2:].split()[1])


def _stderr_path(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/fd/2")
    except OSError:
        return ""


def _cmdline(pid) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _descendants(root: int) -> list:
    children: dict = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(_ppid(int(entry)), []).append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [root]
    while frontier:
        for child in children.get(frontier.pop(), ()):
            found.append(child)
            frontier.append(child)
    return found


def _sigcheck_children(root: int) -> list:
    """sigcheck runtime children (the processes that import TensorFlow) under ``root``."""
    return [p for p in _descendants(root) if "sigcheck.runtime.worker" in _cmdline(p)]


def _children_left(scratch) -> list:
    """sigcheck children still running whose worker directory is under ``scratch``."""
    return [int(e) for e in os.listdir("/proc")
            if e.isdigit() and "sigcheck.runtime.worker" in _cmdline(e) and _stderr_path(int(e)).startswith(str(scratch))]
