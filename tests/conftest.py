"""Session fixtures: real TF1 Hub modules built by fixtures/ with real TensorFlow."""

from __future__ import annotations


import contextlib
import os
import pickle

import pytest

from helpers import SHARED, UPDATE_ENV

try:
    import fcntl
except ImportError:  # no file locks: every worker builds and runs on its own
    fcntl = None


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """``-n N`` without ``--dist`` schedules by work stealing instead of xdist's default ``load``:
    ``load`` hands each worker a fixed share of the test count up front, and the suite's costs
    are far from even (a parametrized rule matrix of milliseconds beside end-to-end runs of
    seconds), so one worker used to run alone for the last 1.5 minutes.  With ``worksteal`` an
    idle worker takes half of the other's queue.  An explicit ``--dist`` is kept."""
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", None) == "no":
        config.option.dist = "worksteal"


def pytest_addoption(parser):
    parser.addoption("--snapshot-update", action="store_true",
                     help=f"rewrite tests/snapshots/ from this run's reports (or set {UPDATE_ENV}=1)")


@pytest.fixture(scope="session")
def update_snapshots(pytestconfig) -> bool:
    """Whether snapshot tests rewrite tests/snapshots/ instead of comparing with it."""
    return pytestconfig.getoption("--snapshot-update") or os.environ.get(UPDATE_ENV) == "1"


def _run_wide_dir(tmp_path_factory, name: str) -> str:
    """A directory that every pytest-xdist worker of this run shares (the run's base temp
    directory), or this session's own without xdist or file locks."""
    if fcntl is None or not os.environ.get("PYTEST_XDIST_WORKER"):
        return str(tmp_path_factory.mktemp(name))
    path = os.path.join(str(tmp_path_factory.getbasetemp().parent), name)
    os.makedirs(path, exist_ok=True)
    return path


@contextlib.contextmanager
def _locked(path: str):
    """Hold an exclusive lock on ``path`` (a no-op without fcntl)."""
    if fcntl is None:
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def modules(tmp_path_factory):
    """A Workspace that builds fixture modules on first use, once per run: xdist workers share
    it, each module built by whichever worker needs it first.  Tests must not write into a
    shared module (a test that executes an unsafe one builds its own copy)."""
    import sigcheck.fixtures
    from sigcheck.runtime.tfimport import quiet_native_stderr

    class Quiet(sigcheck.fixtures.Workspace):
        def build(self, name):
            with _locked(os.path.join(self.root, f".{name}.lock")), quiet_native_stderr():
                return super().build(name)

    return Quiet(_run_wide_dir(tmp_path_factory, "modules"))


@pytest.fixture(scope="session")
def once_per_run(tmp_path_factory):
    """``once_per_run(key, compute)``: ``compute()``'s (picklable) value, computed by one
    xdist worker and read back by the others -- for runs many tests judge, such as one
    sigcheck run over every fixture."""
    root = _run_wide_dir(tmp_path_factory, "once-per-run")

    def once(key: str, compute):
        path = os.path.join(root, f"{key}.pickle")
        with _locked(path + ".lock"):
            if os.path.exists(path):
                with open(path, "rb") as f:
                    return pickle.load(f)
            value = compute()
            with open(path + ".partial", "wb") as f:
                pickle.dump(value, f)
            os.replace(path + ".partial", path)
            return value

    return once


@pytest.fixture(scope="session")
def shared_data():
    """../shared/data, which CI has but a user's fresh clone may not."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip(f"{path} is absent (it ships with the project's CI, not with the repository)")
    return path


@pytest.fixture()
def empty_cwd(tmp_path, monkeypatch):
    """A fresh working directory for the subprocess, to check nothing is written there."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.setenv("SIGCHECK_TEST_CWD", str(cwd))
    return cwd
