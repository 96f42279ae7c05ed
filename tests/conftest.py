"""Session fixtures: real TF1 Hub modules built by fixtures/ with real TensorFlow."""

from __future__ import annotations


import pytest

from helpers import SHARED


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
