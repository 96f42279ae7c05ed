"""Session fixtures: real TF1 Hub modules built by fixtures/ with real TensorFlow."""

from __future__ import annotations


import os

import pytest

from helpers import SHARED, UPDATE_ENV


def pytest_addoption(parser):
    parser.addoption("--snapshot-update", action="store_true",
                     help=f"rewrite tests/snapshots/ from this run's reports (or set {UPDATE_ENV}=1)")


@pytest.fixture(scope="session")
def update_snapshots(pytestconfig) -> bool:
    """Whether snapshot tests rewrite tests/snapshots/ instead of comparing with it."""
    return pytestconfig.getoption("--snapshot-update") or os.environ.get(UPDATE_ENV) == "1"


@pytest.fixture(scope="session")
def modules(tmp_path_factory):
    """A Workspace that builds fixture modules on first use, once per session."""
    import sigcheck.fixtures
    from sigcheck.runtime.tfimport import quiet_native_stderr

    class Quiet(sigcheck.fixtures.Workspace):
        def build(self, name):
            with quiet_native_stderr():
                return super().build(name)

    return Quiet(str(tmp_path_factory.mktemp("modules")))


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
