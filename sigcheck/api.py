"""check(handle, config) -> Report: resolve, read, run, evaluate.

The one entry point the faces (CLI, pytest plugin) use.  It never raises for
bad input: an unreadable module becomes a Report with verdict ``error``.
"""

from __future__ import annotations

import time
from dataclasses import replace

from .config import Config
from .engine import evaluate, select_rules
from .errors import SigcheckError, UsageError
from .facts.image import image_signature_names
from .facts.model import ModuleFacts, format_tags
from .facts.reader import read_module
from .facts.summary import summarize
from .resolve import resolve
from .results import ErrorInfo, Report
from .rules import load_rules
from .runtime.stage import runtime_stage


def check(handle: str, config: Config = Config(), *, worker=None, progress=None) -> Report:
    """Validate the module at ``handle`` and return its report.

    ``worker`` (a runtime.runner.Worker) is reused for inference when given;
    ``progress`` (a runtime.stage.Progress) is told what happens."""
    started = time.perf_counter()  # the report's seconds: JUnit's per-module time
    try:
        with resolve(handle, max_archive_bytes=config.max_archive_bytes) as directory:
            facts = read_module(directory)
            report = _report(handle, directory, facts, config, worker, progress)
    except SigcheckError as exc:
        report = Report(module=handle, error=ErrorInfo(exc.kind, str(exc)), fail_on=config.fail_on)
    return replace(report, seconds=round(time.perf_counter() - started, 3))


def _report(handle: str, directory: str, facts: ModuleFacts, config: Config, worker, progress) -> Report:
    checked = _only_tags(facts, config.tags)
    rules = select_rules(load_rules(), config.select, config.ignore)
    outcome = runtime_stage(checked, directory, rules, config, worker, progress)
    common = {"severities": config.severities, "options": config.options}
    # Module-level rules (format, uniqueness of tag sets) always see every tag set.
    results = evaluate(facts, [r for r in rules if r.scope == "module"], **common) + evaluate(
        checked, [r for r in rules if r.scope != "module"],
        observations=outcome.observations, runtime_skip_reason=outcome.skip_reason,
        runtime_error=outcome.error, **common)
    image_module = bool(checked.meta_graphs) and bool(image_signature_names(checked.primary))
    summary = summarize(facts, directory)
    if outcome.sandbox:
        summary["sandbox"] = outcome.sandbox  # only when the module ran: what confined it
    return Report(
        module=handle,
        results=results,
        facts=summary,
        image_module=image_module,
        fail_on=config.fail_on,
    )


def _only_tags(facts: ModuleFacts, tags) -> ModuleFacts:
    """Facts restricted to the meta graphs TensorFlow's loader picks for the tag sets
    asked for with --tags (all by default): for each, the first whose tag *set* matches."""
    if tags is None:
        return facts
    chosen = [facts.loaded_for(t) for t in tags]
    missing = [t for t, meta in zip(tags, chosen) if meta is None]
    if missing:
        raise UsageError(
            f"--tags {', '.join(format_tags(t) for t in missing)}: no such tag set "
            f"(available: {', '.join(format_tags(t) for t in facts.tag_sets) or 'none'})")
    return replace(facts, meta_graphs=tuple(m for m in facts.meta_graphs if any(m is c for c in chosen)))
