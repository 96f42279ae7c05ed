"""Handles: directories, archives (hub hosting layout), URLs; hostile archives refused.

Every CLI run here uses a fresh TMPDIR and working directory and checks both
are left empty: extracted archives are removed and nothing escapes them.
"""

from __future__ import annotations

import functools
import http.server
import io
import os
import tarfile
import threading

import pytest

from helpers import run_sigcheck, run_sigcheck_inprocess


def make_tarball(module_dir, dest, *, prefix="./", compression="gz"):
    """A hub-hosting-layout archive of ``module_dir``: members ./saved_model.pb, ..."""
    with tarfile.open(dest, f"w:{compression}") as tar:
        if prefix:
            tar.add(module_dir, arcname=prefix.rstrip("/"), recursive=False)
        for root, dirs, files in os.walk(module_dir):
            for name in sorted(dirs) + sorted(files):
                path = os.path.join(root, name)
                tar.add(path, arcname=prefix + os.path.relpath(path, module_dir), recursive=False)
    return dest


def hostile_tarball(dest, module_dir, extra: tarfile.TarInfo, payload: bytes = b""):
    with tarfile.open(dest, "w:gz") as tar:
        tar.add(os.path.join(module_dir, "saved_model.pb"), arcname="./saved_model.pb")
        tar.addfile(extra, io.BytesIO(payload) if payload else None)
    return dest


@pytest.fixture()
def sandbox(tmp_path):
    """TMPDIR and cwd for one CLI run; both must be empty afterwards."""
    tmpdir, cwd = tmp_path / "tmp", tmp_path / "cwd"
    tmpdir.mkdir()
    cwd.mkdir()

    def run(*args, env=None, fresh_interpreter=False):
        """In-process through cli.main (TensorFlow, which URLs import, is imported once per
        test process), or in a fresh interpreter where the test judges what that process does."""
        runner = run_sigcheck if fresh_interpreter else run_sigcheck_inprocess
        result = runner(*args, cwd=cwd, env={"TMPDIR": str(tmpdir), **(env or {})})
        assert list(tmpdir.iterdir()) == [], "temporary files were left behind"
        assert list(cwd.iterdir()) == [], "files were written to the working directory"
        return result

    return run


@pytest.mark.parametrize("suffix,prefix", [(".tar.gz", "./"), (".tgz", ""), (".tar.gz", "module/")])
def test_archives_are_extracted_checked_and_removed(modules, tmp_path, sandbox, suffix, prefix):
    archive = make_tarball(modules.build("fv-conformant"), tmp_path / f"fv{suffix}", prefix=prefix)
    run = sandbox("--static", "--format", "json", archive)
    assert run.returncode == 0, run.stderr
    report = run.json
    assert report["verdict"] == "pass" and report["module"] == str(archive)
    assert report["facts"]["image_size"] == {"height": 32, "width": 32}


def _info(name, kind=tarfile.REGTYPE, size=0, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size, linkname
    return info


HOSTILE = {
    "traversal": (_info("../escaped.txt", size=5), b"owned", "path traversal"),
    "nested-traversal": (_info("./variables/../../escaped.txt", size=5), b"owned", "path traversal"),
    "absolute": (_info("/tmp/sigcheck-absolute-escape.txt", size=5), b"owned", "absolute path"),
    "symlink": (_info("./evil_link", tarfile.SYMTYPE, linkname="/etc/passwd"), b"", "link"),
    "hardlink": (_info("./evil_hardlink", tarfile.LNKTYPE, linkname="saved_model.pb"), b"", "link"),
    "device": (_info("./evil_device", tarfile.CHRTYPE), b"", "device"),
    "fifo": (_info("./evil_fifo", tarfile.FIFOTYPE), b"", "device"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_archives_are_refused_and_nothing_escapes(modules, tmp_path, sandbox, kind):
    info, payload, reason = HOSTILE[kind]
    archive_dir = tmp_path / "archives"
    archive_dir.mkdir()
    archive = hostile_tarball(archive_dir / f"{kind}.tar.gz", modules.build("fv-conformant"), info, payload)
    run = sandbox("--static", archive)
    assert run.returncode == 2
    assert len(run.error_lines) == 1 and reason in run.error_lines[0], run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "escaped.txt").exists()
    assert not os.path.exists("/tmp/sigcheck-absolute-escape.txt")
    assert sorted(p.name for p in archive_dir.iterdir()) == [f"{kind}.tar.gz"]


def test_oversize_archives_are_refused(modules, tmp_path, sandbox):
    archive = make_tarball(modules.build("fv-conformant"), tmp_path / "fv.tar.gz")
    run = sandbox("--static", "--max-archive-size", "1KiB", archive)
    assert run.returncode == 2
    assert "exceeds the bound of 1.0 KiB" in run.error_lines[0]
    json_run = sandbox("--static", "--format", "json", "--max-archive-size", "1KiB", archive)
    assert json_run.returncode == 2
    assert json_run.json["verdict"] == "error" and json_run.json["error"]["type"] == "resolve"


def test_a_bad_size_is_a_usage_error(sandbox, tmp_path):
    run = sandbox("--static", "--max-archive-size", "lots", str(tmp_path))
    assert run.returncode == 2 and "not a size" in run.error_lines[0]


def test_a_corrupt_archive_is_a_one_line_error(tmp_path, sandbox):
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(b"\x1f\x8b\x08\x00 this is not gzip data")
    run = sandbox("--static", archive)
    assert run.returncode == 2 and len(run.error_lines) == 1
    assert "not a readable tar archive" in run.error_lines[0]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture()
def http_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_url_handles_resolve_through_tensorflow_hub_and_its_cache(modules, tmp_path, http_server, sandbox):
    root, base = http_server
    make_tarball(modules.build("classifier-conformant"), root / "classifier.tar.gz")
    cache = tmp_path / "hub-cache"
    url = f"{base}/classifier.tar.gz"
    run = sandbox("--static", "--format", "json", url, env={"TFHUB_CACHE_DIR": str(cache)})
    assert run.returncode == 0, run.stderr
    report = run.json
    assert report["module"] == url and report["verdict"] == "pass"
    assert report["facts"]["directory"].startswith(str(cache))
    assert any((cache / d / "saved_model.pb").exists() for d in os.listdir(cache))


def test_unreachable_urls_are_a_one_line_error(http_server, tmp_path, sandbox):
    _, base = http_server
    run = sandbox("--static", f"{base}/missing.tar.gz", env={"TFHUB_CACHE_DIR": str(tmp_path / "cache")})
    assert run.returncode == 2 and len(run.error_lines) == 1
    assert "could not be resolved" in run.error_lines[0] and "Traceback" not in run.stderr


@pytest.mark.parametrize("kind", ["traversal", "absolute", "symlink"])
def test_hostile_archives_over_urls_are_refused(modules, tmp_path, http_server, sandbox, kind):
    root, base = http_server
    info, payload, _ = HOSTILE[kind]
    hostile_tarball(root / "hostile.tar.gz", modules.build("fv-conformant"), info, payload)
    cache = tmp_path / "hub-cache"
    run = sandbox("--static", f"{base}/hostile.tar.gz", env={"TFHUB_CACHE_DIR": str(cache)})
    assert run.returncode == 2, run.stdout
    assert len(run.error_lines) == 1 and "Traceback" not in run.stderr
    assert not (tmp_path / "escaped.txt").exists() and not (cache.parent / "escaped.txt").exists()
    assert not os.path.exists("/tmp/sigcheck-absolute-escape.txt")


def test_a_late_refused_member_means_nothing_was_written(tmp_path):
    """Every header is checked in a first pass: the big member before the bad
    one is never extracted."""
    from sigcheck.errors import ResolveError
    from sigcheck.resolve import extract_archive

    archive = tmp_path / "late.tar"
    with tarfile.open(archive, "w") as tar:
        big = _info("./variables/variables.data-00000-of-00001", size=8 * 2**20)
        tar.addfile(big, io.BytesIO(b"\0" * big.size))
        tar.addfile(_info("/tmp/sigcheck-late-escape.txt", size=5), io.BytesIO(b"owned"))
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ResolveError, match="absolute path"):
        extract_archive(str(archive), str(dest), max_bytes=2**30)
    assert list(dest.iterdir()) == [], "members were written before the archive was refused"
    assert not os.path.exists("/tmp/sigcheck-late-escape.txt")



@pytest.mark.slow
def test_urls_resolved_in_parallel_are_all_reported_and_errors_still_reach_stderr(modules, tmp_path, http_server,
                                                                                     sandbox):
    """Several URLs in one run resolve in parallel jobs, each importing tensorflow_hub
    into a fresh hub cache: every URL gets its report and stderr stays open, so a
    failing URL is one error line (the run once lost stderr, and the error with it)."""
    root, base = http_server
    module = modules.build("fv-conformant")
    make_tarball(module, root / "one.tar.gz")
    make_tarball(module, root / "two.tar.gz", prefix="")
    urls = [f"{base}/one.tar.gz", f"{base}/two.tar.gz", f"{base}/missing.tar.gz"]
    run = sandbox("--static", "--format", "json", *urls, env={"TFHUB_CACHE_DIR": str(tmp_path / "hub-cache")},
                  fresh_interpreter=True)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert [(r["module"], r["verdict"]) for r in run.json["reports"]] == [
        (urls[0], "pass"), (urls[1], "pass"), (urls[2], "error")]
    assert len(run.error_lines) == 1 and urls[2] in run.error_lines[0], run.stderr
    assert run.tensorflow_imported, "stderr was lost: the runner's last line never arrived"


def test_overlapping_quiet_stderr_windows_restore_stderr():
    """Two threads silence fd 2 at once (two URL jobs importing tensorflow_hub): when
    both are done fd 2 is the original again, whatever the order they leave in."""
    from sigcheck.runtime.tfimport import quiet_native_stderr

    def identity():
        st = os.fstat(2)
        return st.st_dev, st.st_ino

    original, devnull = identity(), os.stat(os.devnull)
    a_entered, b_entered, a_left = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with quiet_native_stderr():
            a_entered.set()
            b_entered.wait(10)
            seen["inside"] = identity()
        a_left.set()

    def second():
        a_entered.wait(10)
        with quiet_native_stderr():
            b_entered.set()
            a_left.wait(10)
            seen["after-first-left"] = identity()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert seen["inside"] == seen["after-first-left"] == (devnull.st_dev, devnull.st_ino)
    assert identity() == original, "fd 2 was left pointing at /dev/null"
