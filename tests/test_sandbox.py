"""The second wall: the worker's OS sandbox, its memory bound, signals.

Modules that SEC601 is told to trust (--allow-unsafe-ops) try to write
outside the temp dir, read /etc/hostname and connect to a local TCP port; the
sandbox stops each and the report says so.  Each fixture is shown to be real
by running it once with the sandbox off (SIGCHECK_NO_SANDBOX=1).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

import pytest

from helpers import rule_verdicts, run_sigcheck, run_sigcheck_inprocess
import sigcheck.fixtures
from sigcheck.config import Config
from sigcheck.many import default_jobs, effective_jobs
from sigcheck.rules import load_rules
from sigcheck.runtime.sandbox import unavailable_reason

pytestmark = pytest.mark.runtime

CATALOG = sigcheck.fixtures.catalog
NO_SANDBOX = {"SIGCHECK_NO_SANDBOX": "1"}
needs_sandbox = pytest.mark.skipif(unavailable_reason() is not None,
                                   reason=f"no sandbox on this machine: {unavailable_reason()}")


def _runtime_errors(report) -> list:
    return [r["message"] for r in report["results"] if r["rule"] in CATALOG.IMAGE_RUNTIME_RULES and r["status"] == "error"]


_PROBE = """
import json, os, socket, subprocess, sys
from sigcheck.runtime.sandbox import enter
enter(sys.argv[1])
write_root, outside = sys.argv[2], sys.argv[3]
def attempt(name, action):
    try:
        action()
        print(json.dumps([name, "allowed"]))
    except OSError as exc:
        print(json.dumps([name, type(exc).__name__]))
attempt("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close())
attempt("tcp6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close())
attempt("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW).close())
attempt("unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close())
attempt("read /etc/hostname", lambda: open("/etc/hostname").read())
attempt("write outside", lambda: open(outside, "w").close())
attempt("write own temp dir", lambda: open(os.path.join(write_root, "x"), "w").close())
attempt("exec", lambda: subprocess.run(["/bin/true"]))
"""


@needs_sandbox
def test_the_sandbox_denies_files_sockets_and_programs_but_not_its_temp_dir(tmp_path):
    import json

    write_root, outside = tmp_path / "own", tmp_path / "outside.txt"
    write_root.mkdir()
    settings = json.dumps({"parent": os.getpid(), "read": [], "write": str(write_root), "memory": 0})
    run = subprocess.run([sys.executable, "-c", _PROBE, settings, str(write_root), str(outside)],
                         capture_output=True, text=True, timeout=60)
    lines = run.stdout.splitlines()
    assert json.loads(lines[0]) == {"event": "sandbox", "description": json.loads(lines[0])["description"]}
    seen = dict(json.loads(line) for line in lines[1:])
    assert seen == {"udp": "PermissionError", "tcp6": "PermissionError", "netlink": "PermissionError",
                    "unix": "allowed", "read /etc/hostname": "PermissionError", "write outside": "PermissionError",
                    "write own temp dir": "allowed", "exec": "PermissionError"}, run.stderr
    assert not outside.exists()


_NETWORK_PROBE = """
import socket, sys
from sigcheck.runtime.sandbox import end_on_network, enter
enter(sys.argv[1])
try:
    socket.socket(getattr(socket, sys.argv[2]), getattr(socket, sys.argv[3]))
except PermissionError:
    print("denied", flush=True)  # what TensorFlow's import sees
assert end_on_network()
print("confined", flush=True)
socket.socket(getattr(socket, sys.argv[2]), getattr(socket, sys.argv[3])).close()
print("opened", flush=True)
"""


@needs_sandbox
@pytest.mark.parametrize("family, kind", [("AF_INET", "SOCK_STREAM"), ("AF_INET", "SOCK_DGRAM"),
                                          ("AF_INET6", "SOCK_STREAM")])
def test_after_end_on_network_an_ip_socket_ends_the_process_with_sigsys(tmp_path, family, kind):
    """Not an error code: gRPC would retry one until the timeout instead of failing."""
    import json

    settings = json.dumps({"parent": os.getpid(), "read": [], "write": str(tmp_path), "memory": 0})
    run = subprocess.run([sys.executable, "-c", _NETWORK_PROBE, settings, family, kind], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert run.stdout.splitlines()[1:] == ["denied", "confined"], run.stderr
    assert run.returncode == -signal.SIGSYS
    assert os.listdir(tmp_path) == [], "the killed process left a core dump behind"


@needs_sandbox
def test_the_worker_is_sandboxed_and_the_report_says_how(modules, tmp_path):
    path = modules.build("fv-conformant")
    # one run, two reports: the JSON one to a file, the terminal one to stdout
    run = run_sigcheck("--report", f"json:{tmp_path / 'r.json'}", "--report", "rich", "--select", "RUN501", path)
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["facts"]["sandbox"].startswith("landlock ABI ")
    assert report["facts"]["sandbox"].endswith(", network denied")
    assert "warning" not in run.stderr
    assert "Sandbox" in run.stdout and "network denied" in run.stdout
    static = run_sigcheck_inprocess("--static", "--format", "json", path)
    assert "sandbox" not in static.json["facts"], "nothing ran, so no sandbox to report"


@needs_sandbox
def test_a_write_outside_the_temp_dir_is_stopped(modules):
    path = modules.build("sec601-write-file")
    marker = CATALOG.marker_path(path)
    run = run_sigcheck("--format", "json", "--allow-unsafe-ops", path)
    try:
        assert not os.path.exists(marker), "the sandbox let the module write outside its temp dir"
        errors = _runtime_errors(run.json)
        assert len(errors) == len(CATALOG.IMAGE_RUNTIME_RULES), run.stderr
        assert all("stopped by the sandbox" in m and "Permission denied" in m for m in errors), errors
    finally:
        if os.path.exists(marker):
            os.remove(marker)


@needs_sandbox
def test_reading_etc_hostname_is_stopped(modules):
    recipe = CATALOG.recipe("sandbox-read-hostname")
    path = modules.build(recipe.name)
    run = run_sigcheck("--format", "json", *recipe.run_args, path)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert rule_verdicts(run.json) == CATALOG.expected_verdicts(recipe, load_rules(), static=False)
    assert all("stopped by the sandbox" in m and "/etc/hostname" in m for m in _runtime_errors(run.json))
    unconfined = run_sigcheck("--format", "json", *recipe.run_args, path, env=NO_SANDBOX)
    assert rule_verdicts(unconfined.json)["RUN501"] == "pass", "the fixture does not read the file"


def _connects_without_a_sandbox(path, run_args, listener) -> bool:
    """Run the module unsandboxed until ``listener`` sees a connection (then stop it: gRPC
    would retry until the timeout), or until sigcheck ends by itself."""
    process = subprocess.Popen([sys.executable, "-m", "sigcheck", "--format", "json", *run_args, path],
                               env={**os.environ, **NO_SANDBOX}, cwd=tempfile.gettempdir(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while not listener.connections and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        return listener.connections > 0
    finally:
        process.terminate()  # sigcheck unwinds like Ctrl-C: its worker is stopped too
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _Listener:
    """Counts the TCP connections made to 127.0.0.1:port while it runs."""

    def __init__(self, port: int):
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind(("127.0.0.1", port))
        except OSError as exc:
            pytest.skip(f"port {port} is busy ({exc})")
        self.socket.listen(16)
        self.socket.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self):
        self._stop.set()
        self._thread.join()
        self.socket.close()


@needs_sandbox
def test_a_connection_to_a_local_port_is_stopped(modules):
    recipe = CATALOG.recipe("sandbox-connect")
    path = modules.build(recipe.name)
    listener = _Listener(CATALOG.listener_port(path))
    try:
        run = run_sigcheck("--format", "json", *recipe.run_args, path)
        assert listener.connections == 0, "the sandbox let the module connect"
        assert run.json["facts"]["sandbox"].endswith("network denied")
        errors = _runtime_errors(run.json)
        assert len(errors) == len(CATALOG.IMAGE_RUNTIME_RULES)
        # stopped by the sandbox at the socket, not a crash or a timeout after gRPC's retries
        assert all("stopped by the sandbox" in e and "network" in e for e in errors), errors
        assert _connects_without_a_sandbox(path, recipe.run_args, listener), "the fixture does not connect"
    finally:
        listener.close()


def test_without_a_sandbox_one_warning_and_require_sandbox_exits_2(modules, tmp_path):
    path = modules.build("fv-conformant")
    run = run_sigcheck("--format", "json", "--select", "RUN501", path, env=NO_SANDBOX)
    assert run.returncode == 0
    warnings = [line for line in run.error_lines if "warning" in line]
    assert len(warnings) == 1 and "without a sandbox" in warnings[0] and "SIGCHECK_NO_SANDBOX" in warnings[0]
    assert "sandbox" not in run.json["facts"] or run.json["facts"]["sandbox"].startswith("none:")
    required = run_sigcheck("--require-sandbox", path, env=NO_SANDBOX)
    assert required.returncode == 2 and "--require-sandbox" in required.error_lines[-1]
    config = tmp_path / "sigcheck.toml"
    config.write_text("require-sandbox = true\n")
    from_config = run_sigcheck("--config", config, path, env=NO_SANDBOX)
    assert from_config.returncode == 2 and not from_config.tensorflow_imported
    assert run_sigcheck_inprocess("--static", "--require-sandbox", path, env=NO_SANDBOX).returncode == 0


@pytest.mark.slow
@needs_sandbox
def test_modules_outside_the_first_grant_get_a_fresh_sandboxed_worker(modules, tmp_path):
    directory = modules.build("fv-conformant")
    archive = tmp_path / "classifier.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(modules.build("classifier-conformant"), arcname=".")
    # one run, two reports: the JSON one to a file, the terminal one to stdout
    run = run_sigcheck("--report", f"json:{tmp_path / 'r.json'}", "--report", "rich", "--jobs", "1", directory, archive)
    assert run.returncode == 0, run.stderr
    reports = json.loads((tmp_path / "r.json").read_text())["reports"]
    assert [r["verdict"] for r in reports] == ["pass", "pass"]
    assert all(r["facts"]["sandbox"].endswith("network denied") for r in reports)
    assert "2 modules: 2 pass; sandbox: landlock ABI" in run.stdout


def test_a_16_tib_fill_fails_at_once_on_the_memory_bound(modules):
    recipe = CATALOG.recipe("run-fill-16tib")
    path = modules.build(recipe.name)
    started = time.monotonic()
    run = run_sigcheck("--format", "json", *recipe.run_args, "--max-memory", "3GiB", path)
    assert time.monotonic() - started < 60, "the allocation rode the timeout instead of failing"
    errors = _runtime_errors(run.json)
    assert len(errors) == len(CATALOG.IMAGE_RUNTIME_RULES), run.stderr
    assert all("exceeded the memory limit of 3.0 GiB" in m for m in errors), errors
    assert run.returncode == 4 and run.json["verdict"] == "incomplete"  # could not check: never a pass


def test_a_module_too_big_to_run_cannot_pass(modules):
    run = run_sigcheck("--format", "json", modules.build("run-dodges-by-size"))
    assert run.returncode == 4 and run.json["verdict"] == "incomplete"
    refused = [r for r in run.json["results"] if r["rule"] == "RUN501"]
    assert refused and all(r["status"] == "error" and "refused" in r["message"] for r in refused)


def test_jobs_are_capped_by_cores_and_memory():
    cores = default_jobs()
    assert effective_jobs(1000, 50, Config()) == cores
    assert effective_jobs(0, 50, Config()) == cores
    assert effective_jobs(1000, 50, Config(max_memory=2**30)) == 1
    assert effective_jobs(2, 1, Config()) == 1
    assert Config(max_memory=4 * 2**30).worker_memory(2) == 2 * 2**30


def _hanging_run(modules, tmp_path, *more):
    """sigcheck on an archive of the hanging fixture (and ``more`` handles),
    started in a fresh TMPDIR; returns once the worker runs the module."""
    archive = tmp_path / "hangs.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(modules.build("run-hangs"), arcname=".")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sigcheck", "--format", "json", "--timeout", "300", "--jobs", "1",
                             str(archive), *more],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not any(tmpdir.glob("sigcheck-worker-*/module-*/plan.json")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    time.sleep(2)  # the worker is inside the endless loop now
    return proc, tmpdir


def _workers_of(tmpdir) -> list:
    """Worker processes started for this TMPDIR (their settings name it)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if os.path.realpath(tmpdir).encode() in cmdline and b"sigcheck.runtime.sandbox" in cmdline:
            found.append(int(pid))
    return found


@pytest.mark.parametrize("signum,code,modules_queued", [(signal.SIGTERM, 143, 0), (signal.SIGHUP, 129, 0),
                                                         (signal.SIGTERM, 143, 1)])
def test_sigterm_and_sighup_stop_the_worker_and_remove_temp_dirs(modules, tmp_path, signum, code, modules_queued):
    more = [modules.build("fv-conformant")] * modules_queued  # several handles: the jobs of many.py
    proc, tmpdir = _hanging_run(modules, tmp_path, *more)
    assert _workers_of(tmpdir), "the worker should be running"
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert "terminated by" in stderr and "Traceback" not in stderr
    assert list(tmpdir.iterdir()) == [], "temporary directories were left behind"
    assert _workers_of(tmpdir) == [], "the worker outlived sigcheck"


def test_the_worker_dies_with_sigcheck(modules, tmp_path):
    proc, tmpdir = _hanging_run(modules, tmp_path)
    workers = _workers_of(tmpdir)
    assert workers
    proc.kill()  # no chance to clean up: PR_SET_PDEATHSIG must end the worker
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while _workers_of(tmpdir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _workers_of(tmpdir) == [], "an orphaned worker kept running"


def test_an_allocation_that_aborts_is_reported_as_the_memory_limit():
    """C++ code that cannot allocate under RLIMIT_DATA aborts (std::bad_alloc): say which limit it hit."""
    from sigcheck.runtime.runner import _crash_message

    stderr = "terminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc\n"
    assert _crash_message(-signal.SIGABRT, stderr, 3 * 2**30) == (
        "the inference process exceeded the memory limit of 3.0 GiB (--max-memory)")
    assert "SIGABRT" in _crash_message(-signal.SIGABRT, "abort on purpose", 3 * 2**30)
