"""pytest plugin: every result sigcheck gives for a module becomes a test item.

Registered through the ``pytest11`` entry point, so it loads in every pytest
run of an environment that has sigcheck -- including sigcheck's own suite.  It
therefore stays inert (no items, markers, header or config reading) until
``--sigcheck PATH`` or the ``sigcheck_modules`` ini key names modules.

A module is checked once per session, while collecting: its results decide
which items exist.  The report is kept in ``config.stash`` and the items only
read their result from it; ``sigcheck_report`` shares the same cache.  The
modules are added to the session's own collect report, so they go through
pytest's normal collection hooks and ``-k`` / ``-m`` / ``--deselect`` apply.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

from .config import Config, codes, load_config
from .errors import ConfigError
from .resolve import ARCHIVE_SUFFIXES, is_url
from .results import Report, Result


class SigcheckWarning(UserWarning):
    """A violated warning-severity rule: its item passes, and says why here."""


class SigcheckFailure(Exception):
    """Raised by an item whose result fails; its text is the whole failure report."""


@dataclass(frozen=True)
class _Plan:
    config: Config
    modules: tuple  # (node id, handle) per module, in order


_PLAN = pytest.StashKey[_Plan]()
_REPORTS = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sigcheck", "TF Hub module conformance (sigcheck)")
    group.addoption("--sigcheck", action="append", default=[], metavar="PATH",
                    help="check this module (directory, .tar.gz or URL); one test item per result; repeatable")
    group.addoption("--sigcheck-static", action="store_true",
                    help="static sigcheck rules only: no TensorFlow, no inference")
    parser.addini("sigcheck_modules", "modules to check: paths or globs relative to rootdir (exports/*)",
                  type="linelist")
    parser.addini("sigcheck_select", "only these sigcheck rules: codes or prefixes", type="linelist")
    parser.addini("sigcheck_ignore", "skip these sigcheck rules: codes or prefixes", type="linelist")
    parser.addini("sigcheck_static", "static sigcheck rules only", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    modules = _modules(config)
    if not modules:
        return
    config.stash[_PLAN] = _Plan(_project_config(config), modules)
    config.addinivalue_line("markers", "sigcheck: a result of the sigcheck plugin for a TF Hub module")


def pytest_report_header(config: pytest.Config) -> Optional[str]:
    plan = config.stash.get(_PLAN, None)
    if plan is None:
        return None
    mode = "static checks" if plan.config.static else "full checks"
    return f"sigcheck: {len(plan.modules)} module(s), {mode}, config: {plan.config.source or 'defaults'}"


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """Append the modules to the session's children, beside the test paths."""
    report = yield
    plan = collector.config.stash.get(_PLAN, None)
    if plan is not None and isinstance(collector, pytest.Session) and report.passed:
        for node_id, handle in plan.modules:
            path = collector.config.rootpath if is_url(handle) else Path(handle)
            report.result.append(SigcheckModule.from_parent(
                collector, name=node_id, nodeid=node_id, path=path, handle=handle))
    return report


class SigcheckModule(pytest.Collector):
    """One module: checked once, one item per result (one failing item if unreadable)."""

    def __init__(self, *, handle: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.handle = handle

    def collect(self) -> Iterator[SigcheckItem]:
        report = _report(self.config, self.handle, self.config.stash[_PLAN].config)
        if report.error is not None:
            yield SigcheckItem.from_parent(self, name="sigcheck", report=report, result=None)
            return
        for name, result in _names(report.results):
            yield SigcheckItem.from_parent(self, name=name, report=report, result=result)


class SigcheckItem(pytest.Item):
    """A result: fail and error results fail, skip results skip, warn results warn."""

    def __init__(self, *, report: Report, result: Optional[Result], **kwargs) -> None:
        super().__init__(**kwargs)
        self.report, self.result = report, result
        self.add_marker("sigcheck")
        if result is not None and result.status == "skip":
            # A mark, not pytest.skip(): the skip is then reported at the module, not in this file.
            self.add_marker(pytest.mark.skip(reason=result.message))

    def runtest(self) -> None:
        if self.result is None:
            error = self.report.error
            raise SigcheckFailure(f"{error.message}\n  the module could not be read ({error.type} error), "
                                  "so no rule ran")
        if any(r is self.result for r in self.report.failing):
            raise SigcheckFailure(_describe(self.result))
        if self.result.status == "warn":
            # Attributed to the module rather than to this file, for the warnings summary.
            warnings.warn_explicit(SigcheckWarning(_one_line(self.result)), SigcheckWarning,
                                   filename=self.parent.name, lineno=1)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, (SigcheckFailure, SigcheckWarning)):  # also under -W error
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, 0, self.nodeid


def _describe(result: Result) -> str:
    """A failing result, message first: pytest's short summary shows the first line."""
    from .rules import rule_by_code

    rule = rule_by_code(result.rule)
    lines = [
        result.message,
        f"  rule:     {result.rule} {result.name}: {rule.summary}",
        f"  status:   {result.status} (severity {result.severity})",
        f"  where:    {result.location or _place(result).strip('[]') or 'the module'}",
        f"  spec:     {result.spec}  {rule.spec_url}",
    ]
    if result.evidence:
        lines.append(f"  evidence: {result.evidence}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def sigcheck_report(pytestconfig: pytest.Config) -> Callable[..., Report]:
    """``sigcheck_report(path, **config_overrides) -> Report`` for custom tests.

    Starts from the session's configuration ([tool.sigcheck], ini keys, flags)
    and shares the items' cache, so a module is not checked twice.
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
    """(node id, handle) of each module to check; ``--sigcheck`` first, no repeats.

    The ini modules are, like ``testpaths``, part of a plain ``pytest`` run;
    when paths are given on the command line only those under them remain.
    """
    rootdir = str(config.rootpath)
    given = [_handle(p, relative_to=str(config.invocation_params.dir)) for p in config.getoption("sigcheck")]
    configured = [h for pattern in config.getini("sigcheck_modules") for h in _expand(pattern, rootdir)]
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        targets = [_handle(a.split("::")[0], relative_to=str(config.invocation_params.dir)) for a in config.args]
        configured = [h for h in configured if any(_within(h, t) for t in targets)]
    handles = dict.fromkeys(given + configured)
    return tuple((_node_id(h, rootdir), h) for h in handles)


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


def _node_id(handle: str, rootdir: str) -> str:
    """Relative to rootdir when inside it (``exports/mobilenet``), else the handle itself."""
    if _within(handle, rootdir):
        return os.path.relpath(handle, rootdir).replace(os.sep, "/")
    return handle


def _project_config(config: pytest.Config) -> Config:
    """[tool.sigcheck] found from rootdir upward, with the ini keys and flags over it."""
    try:
        base = load_config(search_from=str(config.rootpath))
        select = codes(config.getini("sigcheck_select"), "sigcheck_select")
        ignore = codes(config.getini("sigcheck_ignore"), "sigcheck_ignore")
    except ConfigError as exc:
        raise pytest.UsageError(f"sigcheck: {exc}") from None
    static = config.getoption("sigcheck_static") or config.getini("sigcheck_static")
    return base.merged(select=select or None, ignore=ignore or None, static=static or None)


def _override(base: Config, overrides: dict) -> Config:
    """``base`` with keyword overrides; select/ignore validated like the CLI's flags."""
    changes = dict(overrides)
    for key in ("select", "ignore"):
        value = changes.get(key) or ()
        changes[key] = codes([value] if isinstance(value, str) else value, key) or None
    return base.merged(**changes)


def _report(config: pytest.Config, handle: str, sigcheck_config: Config) -> Report:
    """One check per (handle, configuration) per session.

    The session's modules are checked together on first use, as `sigcheck a b`
    would: worker processes (one TensorFlow import each) are shared between
    them instead of being started once per module."""
    reports = config.stash.setdefault(_REPORTS, {})
    # Config holds mappings and so cannot be hashed; its repr is a faithful value key.
    settings = repr(sigcheck_config)
    if (handle, settings) not in reports:
        from .many import check_many  # imported on use: the plugin itself loads in every pytest run

        plan = config.stash.get(_PLAN, None)
        batch = [handle]
        if plan is not None and repr(plan.config) == settings:
            batch += [h for _, h in plan.modules if h != handle and (h, settings) not in reports]
        from .stream import cached_checker  # [tool.sigcheck] cache: reports of unchanged modules are reused

        checker = cached_checker(sigcheck_config.cache_dir, sigcheck_config)
        for checked, report in zip(batch, check_many(batch, sigcheck_config, jobs=sigcheck_config.jobs,
                                                     checker=checker)):
            reports[(checked, settings)] = report
    return reports[(handle, settings)]


def _place(result: Result) -> str:
    """``[image_feature_vector]``, ``[{train}]``, ``[{train}/default]``, or '' for the module."""
    tags = None if result.tags is None else "{" + ",".join(result.tags) + "}"
    if result.signature is None:
        return "" if tags is None else f"[{tags}]"
    if not result.tags:  # the inference graph {}, which signature rules judge
        return f"[{result.signature}]"
    return f"[{tags}/{result.signature}]"


def _names(results) -> Iterator[tuple]:
    """(item name, result); a rule's second result for the same place gets ``#2``."""
    seen: Counter = Counter()
    for result in results:
        name = result.rule + _place(result)
        seen[name] += 1
        yield (name if seen[name] == 1 else f"{name}#{seen[name]}"), result


def _one_line(result: Result) -> str:
    where = " ".join(filter(None, (result.rule, result.name, _place(result))))
    return f"{where}: {result.message} (spec {result.spec})"
