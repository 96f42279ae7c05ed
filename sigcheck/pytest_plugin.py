"""pytest plugin (model: pytest-mypy): one test item per selected rule of each module.

Registered through the ``pytest11`` entry point, so it loads in every pytest
run of an environment that has sigcheck -- including sigcheck's own suite.  It
stays inert (no items, markers, header or config reading) until
``--sigcheck PATH`` or the ``sigcheck_modules`` ini key names modules.

Collection reads nothing: a module is a file node -- ``saved_model.pb`` of a
module directory, or the archive -- whose items are the selected rules, named
by code.  So ids never depend on an outcome and paste back on the command line
(pytest refuses ``dir::name`` and reads ``[...]`` as a parameter id).  A module
is checked when its first selected item is set up, for the rules selected in
this session, once; items then read their rule's results.  A check that could
not complete is a pytest error, a violated rule a failure.  Under pytest-xdist
a module's items are scheduled on one worker.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

from .config import Config, codes, load_config
from .errors import SigcheckError
from .pytest_rootdir import pytest_load_initial_conftests  # noqa: F401 - a hook of this plugin
from .record import replace
from .resolve import ARCHIVE_SUFFIXES, is_url
from .results import Report, Result
from .vocabulary import compact_tag_set


class SigcheckWarning(UserWarning):
    """A violated warning-severity rule: its item passes, and says why here."""


class SigcheckFailure(Exception):
    """Raised by an item whose rule fails; its text is the whole failure report."""


class SigcheckNotChecked(Exception):
    """Raised while setting up an item whose check could not complete: a pytest error."""


@dataclass(frozen=True)
class _Module:
    handle: str  # absolute path or URL, as given to api.check
    path: Path  # the file node: saved_model.pb of a directory, the archive, rootdir for a URL
    nodeid: str
    given: bool  # named with --sigcheck: collected whatever paths the command line gives


@dataclass(frozen=True)
class _Plan:
    config: Config
    modules: tuple  # _Module, in order
    rules: tuple  # the selected rules' codes: one item each per module


_PLAN = pytest.StashKey[_Plan]()
_REPORTS = pytest.StashKey[dict]()  # (handle, settings) -> Report
_SELECTED = pytest.StashKey[dict]()  # handle -> codes of the items selected in this session
_WORKERS = pytest.StashKey[list]()  # the session's runtime Workers (inference processes), kept for the session
_CHECKED = pytest.StashKey[list]()  # seconds spent per module check in this process

# Where sigcheck's messages name a CLI flag, pytest users have an option or a config key.
_PYTEST_WORDS = {
    "--static": "sigcheck_static / --sigcheck-static",
    "--timeout": "timeout in [tool.sigcheck]",
    "--allow-unsafe-ops": "allow-unsafe-ops = true in [tool.sigcheck]",
    "--batch-sizes": "batch-sizes in [tool.sigcheck]",
    "--max-archive-size": "max-archive-size in [tool.sigcheck]",
    "--fail-on": "fail-on in [tool.sigcheck]",
    "--select": "sigcheck_select",
    "--ignore": "sigcheck_ignore",
}
_FLAG_RE = re.compile("|".join(re.escape(f) for f in sorted(_PYTEST_WORDS, key=len, reverse=True)) + r"(?![\w-])")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sigcheck", "TF Hub module conformance (sigcheck)")
    group.addoption("--sigcheck", action="append", default=[], metavar="PATH",
                    help="check this module (directory, .tar.gz or URL); one test item per rule; repeatable")
    group.addoption("--sigcheck-static", action="store_true",
                    help="static sigcheck rules only: no TensorFlow, no inference")
    parser.addini("sigcheck_modules", "modules to check: paths or globs relative to rootdir (exports/*), "
                  "separated by whitespace or newlines", type="args")
    parser.addini("sigcheck_select", "only these sigcheck rules: codes or prefixes", type="args")
    parser.addini("sigcheck_ignore", "skip these sigcheck rules: codes or prefixes", type="args")
    parser.addini("sigcheck_static", "static sigcheck rules only", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    modules = _modules(config)
    if not modules:
        return
    sigcheck_config = _project_config(config)
    from .engine import select_rules
    from .rules import load_rules

    rules = tuple(r.code for r in select_rules(load_rules(), sigcheck_config.select, sigcheck_config.ignore))
    if importlib.util.find_spec("tensorflow") is None:  # the lean install: only static checks can run
        from .api import require_tensorflow

        try:
            require_tensorflow(sigcheck_config, hint="sigcheck_static = true (or --sigcheck-static)")
        except SigcheckError as exc:
            raise pytest.UsageError(f"sigcheck: {exc}") from None
    config.stash[_PLAN] = _Plan(sigcheck_config, modules, rules)
    config.stash[_CHECKED] = []
    config.pluginmanager.register(_CheckCounter(), "sigcheck-check-counter")
    config.addinivalue_line("markers", "sigcheck: a rule checked by the sigcheck plugin on a TF Hub module")


def pytest_unconfigure(config: pytest.Config) -> None:
    for worker in config.stash.get(_WORKERS, ()):
        worker.close()


def pytest_report_header(config: pytest.Config) -> Optional[str]:
    plan = config.stash.get(_PLAN, None)
    if plan is None:
        return None
    mode = "static checks" if plan.config.static else "full checks"
    return f"sigcheck: {len(plan.modules)} module(s), {mode}, config: {plan.config.source or 'defaults'}"


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """Add the modules that the command-line paths do not reach to the session's children."""
    report = yield
    plan = collector.config.stash.get(_PLAN, None)
    if plan is not None and isinstance(collector, pytest.Session) and report.passed:
        targets = _targets(collector.config)
        for module in plan.modules:
            if targets is None or (module.given and not any(_related(module, t) for t in targets)):
                report.result.append(SigcheckFile.from_parent(
                    collector, path=module.path, nodeid=module.nodeid, name=module.nodeid, module=module))
    return report


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    """A module reached through the command-line paths (``pytest exports/``, a pasted id)."""
    plan = parent.config.stash.get(_PLAN, None)
    if plan is None or _targets(parent.config) is None:
        return None
    for module in plan.modules:
        if module.path == file_path and not is_url(module.handle):
            return SigcheckFile.from_parent(parent, path=file_path, nodeid=module.nodeid, module=module)
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Which rules of each module this session runs: the check covers only those."""
    selected: dict = {}
    for item in session.items:
        if isinstance(item, SigcheckItem):
            selected.setdefault(item.parent.module.handle, []).append(item.name)
    session.config.stash[_SELECTED] = selected
    plan = session.config.stash.get(_PLAN, None)
    workers = getattr(session.config, "workerinput", {}).get("workercount", 1)
    if len(selected) >= workers and not plan.config.static and not session.config.option.collectonly \
            and _uses_runtime(selected):
        # TensorFlow imports in the inference processes while the tests before the first module run.
        # (An xdist worker starts its process only when there are modules enough for every worker.)
        for worker in _runtime_workers(session.config)[:len(selected)]:
            worker.start()


def _uses_runtime(selected: dict) -> bool:
    from .rules import rule_by_code

    return any(rule_by_code(code).uses_runtime for codes_ in selected.values() for code in codes_)


class SigcheckFile(pytest.File):
    """One module: an item per selected rule; nothing is read until an item runs."""

    def __init__(self, *, module: _Module, **kwargs) -> None:
        super().__init__(**kwargs)
        self.module = module
        self.extra_keyword_matches.add(module.nodeid)

    def collect(self) -> Iterator[SigcheckItem]:
        for code in self.config.stash[_PLAN].rules:
            yield SigcheckItem.from_parent(self, name=code)

    def report(self) -> Report:
        """The module's report for this session's selected rules, checked on first use.

        With jobs to spare (``jobs`` in [tool.sigcheck], default one per core;
        one in an xdist worker, where xdist runs the modules in parallel) the
        next selected modules not checked yet are checked at the same time."""
        window = _window(self.config, self.module.handle)
        return _reports(self.config, [(h, _items_config(self.config, h)) for h in window])[0]


class SigcheckItem(pytest.Item):
    """A rule: a violation fails, could-not-check errors, all-skip skips, a warning warns."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_marker("sigcheck")
        self.results: tuple = ()

    def setup(self) -> None:
        checked_before = len(self.config.stash[_CHECKED])
        report = self.parent.report()
        self.user_properties += [("sigcheck_checked", s) for s in self.config.stash[_CHECKED][checked_before:]]
        if report.error is not None:
            raise SigcheckNotChecked(f"{_for_pytest(report.error.message)}\n  the module could not be read "
                                     f"({report.error.type} error), so no rule ran")
        self.results = tuple(r for r in report.results if r.rule == self.name)
        if not self.results:
            raise SigcheckNotChecked(f"{self.name} gave no result for {report.module}")
        if any(r.status == "error" for r in self.results):
            raise SigcheckNotChecked(_describe([r for r in self.results if r.status in ("error", "fail")]))
        if all(r.status == "skip" for r in self.results):
            pytest.skip(_for_pytest(self.results[0].message))
        self._report = report

    def runtest(self) -> None:
        failing = [r for r in self._report.failing if r.rule == self.name]
        if failing:
            raise SigcheckFailure(_describe(failing))
        for result in self.results:
            if result.status == "warn":
                # Attributed to the module rather than to this file, for the warnings summary.
                warnings.warn_explicit(SigcheckWarning(_one_line(result)), SigcheckWarning,
                                       filename=self.parent.module.nodeid, lineno=1)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, (SigcheckFailure, SigcheckWarning)):  # also under -W error
            return str(excinfo.value)
        if isinstance(excinfo.value, SigcheckError):  # an unusable golden directory: one line, no traceback
            return f"sigcheck: {excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        # The domain heads the failure report; pytest -v turns its dots into "::" when the id ends with it.
        return self.path, None, f"{self.name} of {self.parent.module.nodeid}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """A module's skips and could-not-check errors say why, not where in this plugin."""
    report = yield
    if isinstance(item, SigcheckItem) and call.excinfo is not None:
        if report.skipped and isinstance(report.longrepr, tuple):
            report.longrepr = (item.parent.module.nodeid, None, report.longrepr[2])
        elif isinstance(call.excinfo.value, SigcheckNotChecked):
            report.longrepr = str(call.excinfo.value)
    return report


class _CheckCounter:
    """Counts the module checks from the items that did them, here or in xdist workers, for the summary."""

    def __init__(self) -> None:
        self.seconds: list = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup":
            self.seconds += [value for key, value in report.user_properties if key == "sigcheck_checked"]

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.seconds:
            terminalreporter.write_line(f"sigcheck: {len(self.seconds)} module check(s), {sum(self.seconds):.1f}s")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """With ``-n``: a module's items on one worker, every other test scheduled as ``--dist load`` does."""
    plan = config.stash.get(_PLAN, None)
    if plan is None or config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    scopes = frozenset(m.nodeid for m in plan.modules)

    class ModuleScopes(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = nodeid.split("::", 1)[0]
            return scope if scope in scopes else nodeid

    return ModuleScopes(config, log)


def _describe(results) -> str:
    """Failing or erroring results of one rule, message first: pytest's summary shows the first line."""
    from .rules import rule_by_code

    rule = rule_by_code(results[0].rule)
    first = results[0]
    lines = [_for_pytest(first.message) + (f" ({len(results)} places)" if len(results) > 1 else ""),
             f"  rule:     {rule.code} {first.name}: {rule.summary}",
             f"  spec:     {first.spec}  {first.spec_url}"]
    for result in results:
        where = result.location or _place(result) or "the module"
        lines.append(f"  {result.status.upper()} ({result.severity}) at {where}: {_for_pytest(result.message)}")
        if result.evidence:
            lines.append(f"    evidence: {_for_pytest(result.evidence)}")
    return "\n".join(lines)


def _for_pytest(text: str) -> str:
    return _FLAG_RE.sub(lambda m: _PYTEST_WORDS[m.group(0)], text)


@pytest.fixture(scope="session")
def sigcheck_report(pytestconfig: pytest.Config) -> Callable[..., Report]:
    """``sigcheck_report(path, **config_overrides) -> Report`` for custom tests.

    Starts from the session's configuration ([tool.sigcheck], ini keys, flags)
    and keeps each report for the session.
    """
    def report(path, **overrides) -> Report:
        plan = pytestconfig.stash.get(_PLAN, None)
        base = plan.config if plan is not None else _project_config(pytestconfig)
        return _report(pytestconfig, _handle(path), _override(base, overrides))

    return report


def assert_conforms(path, *, static: bool = False, select=(), ignore=(), fail_on: str = "error") -> Report:
    """Assert that a module (or a Report from ``sigcheck_report``) has no failing result.

    Like the CLI run from the current directory: the nearest [tool.sigcheck]
    applies and the arguments override it.  Raises AssertionError listing
    every failing result, one per line; returns the report otherwise.
    """
    if isinstance(path, Report):
        if static or select or ignore:
            raise TypeError("static, select and ignore apply when checking a path, not to a finished Report")
        report = replace(path, fail_on=fail_on)
    else:
        from . import api

        config = _override(load_config(search_from=os.getcwd()),
                           {"static": static or None, "select": select, "ignore": ignore, "fail_on": fail_on})
        from .stream import cached_checker

        report = (cached_checker(config.cache_dir, config) or api.check)(_handle(path), config)
    if report.error is not None:
        raise AssertionError(f"module could not be read ({report.error.type} error): {report.error.message}")
    if report.failing:
        lines = [f"{report.module} does not conform ({len(report.failing)} failing result(s), "
                 f"fail-on {report.fail_on}):"]
        lines += [f"  {r.status.upper()} {_one_line(r)}" for r in report.failing]
        raise AssertionError("\n".join(lines))
    return report


def _modules(config: pytest.Config) -> tuple:
    """Each module to check, ``--sigcheck`` first, no repeats.

    The ini modules are, like ``testpaths``, part of a plain ``pytest`` run;
    when paths are given on the command line only those related to them remain.
    """
    rootdir = str(config.rootpath)
    given = [_handle(p, relative_to=str(config.invocation_params.dir)) for p in config.getoption("sigcheck")]
    configured = [h for pattern in config.getini("sigcheck_modules") for h in _expand(pattern, rootdir)]
    targets = _targets(config)
    if targets is not None:
        configured = [h for h in configured if any(_related_paths(h, t) for t in targets)]
    return tuple(_module(h, h in given, config.rootpath) for h in dict.fromkeys(given + configured))


def _module(handle: str, given: bool, rootpath: Path) -> _Module:
    if is_url(handle):
        return _Module(handle, rootpath, handle, given)
    path = Path(handle) / "saved_model.pb" if os.path.isdir(handle) else Path(handle)
    try:
        nodeid = path.relative_to(rootpath).as_posix()
    except ValueError:
        nodeid = path.as_posix()
    return _Module(handle, path, nodeid, given)


def _targets(config: pytest.Config) -> Optional[list]:
    """The paths given on the command line, or None when pytest collects testpaths or the rootdir."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return None
    return [_handle(a.split("::")[0], relative_to=str(config.invocation_params.dir)) for a in config.args]


def _related(module: _Module, target: str) -> bool:
    return _related_paths(module.handle, target)


def _related_paths(handle: str, target: str) -> bool:
    """The module lies under the target, or the target inside the module (a pasted item id)."""
    return _within(handle, target) or _within(target, handle)


def _expand(pattern: str, rootdir: str) -> list:
    """A glob's module directories and archives; a path or URL as is.

    A glob that matches nothing stays itself, so that it shows up as an
    unreadable module instead of silently checking nothing.
    """
    if is_url(pattern) or not any(c in pattern for c in "*?["):
        return [_handle(pattern, relative_to=rootdir)]
    import glob

    found = sorted(p for p in glob.glob(os.path.join(rootdir, pattern))
                   if os.path.isdir(p) or p.endswith(ARCHIVE_SUFFIXES))
    return found or [_handle(pattern, relative_to=rootdir)]


def _handle(path, relative_to: Optional[str] = None) -> str:
    text = os.fspath(path)
    if is_url(text):
        return text
    return os.path.normpath(os.path.join(relative_to or os.getcwd(), text))


def _within(handle: str, target: str) -> bool:
    return not is_url(handle) and (handle == target or handle.startswith(target.rstrip(os.sep) + os.sep))


def _project_config(config: pytest.Config) -> Config:
    """[tool.sigcheck] found from rootdir upward, with the ini keys and options over it."""
    try:
        base = load_config(search_from=str(config.rootpath))
        select = codes(config.getini("sigcheck_select"), "sigcheck_select")
        ignore = codes(config.getini("sigcheck_ignore"), "sigcheck_ignore")
        static = config.getoption("sigcheck_static") or config.getini("sigcheck_static")
        return base.merged(select=select or None, ignore=ignore or None, static=static or None)
    except SigcheckError as exc:
        raise pytest.UsageError(f"sigcheck: {_for_pytest(str(exc))}") from None


def _override(base: Config, overrides: dict) -> Config:
    """``base`` with keyword overrides; select/ignore validated like the CLI's flags."""
    changes = dict(overrides)
    for key in ("select", "ignore"):
        value = changes.get(key) or ()
        changes[key] = codes([value] if isinstance(value, str) else value, key) or None
    return base.merged(**changes)


def _report(config: pytest.Config, handle: str, sigcheck_config: Config) -> Report:
    return _reports(config, [(handle, sigcheck_config)])[0]


def _reports(config: pytest.Config, pairs) -> list:
    """One check per (handle, configuration) per session; the only place modules are checked.

    The pairs not checked yet run at the same time, one runtime worker each;
    the workers (one TensorFlow import each) serve the whole session."""
    reports = config.stash.setdefault(_REPORTS, {})
    # Config holds mappings and so cannot be hashed; its repr is a faithful value key.
    keys = [(handle, repr(sigcheck_config)) for handle, sigcheck_config in pairs]
    todo = [(key, *pair) for key, pair in zip(keys, pairs) if key not in reports]
    if todo:
        from . import (
            api,  # imported on use: the plugin itself loads in every pytest run
        )
        from .stream import cached_checker

        workers = _runtime_workers(config) if _needs_runtime(todo[0][2]) else []
        for worker in workers[:len(todo)]:
            # Started here, in the thread that outlives them: a worker dies with the
            # thread that started it (PR_SET_PDEATHSIG), and the check threads are short.
            worker.start()
        checked = config.stash.setdefault(_CHECKED, [])
        problems = []

        def check(index: int) -> None:
            key, handle, sigcheck_config = todo[index]
            started = time.perf_counter()
            try:
                worker = workers[index] if index < len(workers) else None
                # [tool.sigcheck] cache: reports of unchanged modules are reused
                check_one = cached_checker(sigcheck_config.cache_dir, sigcheck_config) or api.check
                reports[key] = check_one(handle, sigcheck_config, worker=worker)
            except Exception as exc:  # a bug in sigcheck: raised in the item that asked
                problems.append(exc)
            checked.append(round(time.perf_counter() - started, 2))

        threads = [threading.Thread(target=check, args=(i,), daemon=True) for i in range(1, len(todo))]
        for thread in threads:
            thread.start()
        check(0)
        for thread in threads:
            thread.join()
        if problems:
            raise problems[0]
    return [reports[key] for key in keys]


def _items_config(config: pytest.Config, handle: str) -> Config:
    """The session's configuration narrowed to the module's selected items."""
    plan = config.stash[_PLAN]
    return plan.config.merged(select=tuple(config.stash.get(_SELECTED, {}).get(handle) or plan.rules))


def _window(config: pytest.Config, handle: str) -> list:
    """``handle`` and, while jobs are free, the next selected modules that are not checked yet."""
    selected = list(config.stash.get(_SELECTED, {}))
    if handle not in selected or not _needs_runtime(_items_config(config, handle)):
        return [handle]  # static checks take milliseconds: nothing to overlap
    done = {key[0] for key in config.stash.get(_REPORTS, {})}
    later = [h for h in selected[selected.index(handle) + 1:] if h not in done]
    return [handle] + later[:_jobs(config) - 1]


def _jobs(config: pytest.Config) -> int:
    if hasattr(config, "workerinput"):  # pytest-xdist runs the modules in parallel already
        return 1
    plan = config.stash.get(_PLAN, None)  # none for sigcheck_report in a run that names no module
    return (plan.config.jobs if plan is not None else 0) or len(os.sched_getaffinity(0))


def _needs_runtime(sigcheck_config: Config) -> bool:
    from .engine import select_rules
    from .rules import load_rules

    rules = select_rules(load_rules(), sigcheck_config.select, sigcheck_config.ignore)
    return not sigcheck_config.static and any(r.uses_runtime for r in rules)


def _runtime_workers(config: pytest.Config) -> list:
    """The session's inference processes, one per job; created on first need, started on use."""
    workers = config.stash.get(_WORKERS, None)
    if workers is None:
        from .resolve import local_directory
        from .runtime.runner import sandboxed_worker

        jobs = _jobs(config)
        threads = len(os.sched_getaffinity(0)) // jobs if jobs > 1 else 0  # share the cores between them
        plan = config.stash.get(_PLAN, None)
        sigcheck_config = plan.config if plan is not None else Config()
        # The sandboxes grant every module of the session up front (a sandbox cannot be widened).
        roots = [d for d in (local_directory(m.handle) for m in (plan.modules if plan else ())) if d]
        workers = config.stash[_WORKERS] = [
            sandboxed_worker(sigcheck_config.worker_limits(jobs), threads=threads, read_roots=roots)
            for _ in range(jobs)]
    return workers


def _place(result: Result) -> str:
    """``default``, ``{train}``, ``{train}/default``, or '' for the module."""
    tags = None if result.tags is None else compact_tag_set(result.tags)
    if result.signature is None:
        return tags or ""
    if not result.tags:  # the inference graph {}, which signature rules judge
        return result.signature
    return f"{tags}/{result.signature}"


def _one_line(result: Result) -> str:
    where = " ".join(filter(None, (result.rule, result.name, _place(result) and f"[{_place(result)}]")))
    return f"{where}: {_for_pytest(result.message)} (spec {result.spec})"
