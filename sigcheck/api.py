"""The public Python API, and the one entry point the faces (CLI, pytest plugin) use.

``check(handle, **options) -> Report``: resolve, read, run, evaluate.  It never
raises for a bad module (an unreadable one becomes a Report with verdict
``error``); bad options raise a ConfigError, exactly as the CLI refuses them.
"""

from __future__ import annotations

import importlib.util
import time
from typing import Optional

from .config import Config, _validate, parse_tag_set
from .engine import effective_options, evaluate, select_rules
from .errors import ConfigError, SigcheckError, UsageError
from .facts.golden import GoldenError, interface_mismatch, read_golden
from .facts.kind import module_kind
from .facts.model import ModuleFacts, format_tags
from .facts.reader import read_module
from .facts.summary import summarize
from .facts.tf2 import TF2_SAVED_MODEL, module_format
from .record import replace
from .resolve import resolve
from .results import ErrorInfo, Report
from .rules import load_rules
from .runtime.settings import RuntimeSettings, WorkerLimits
from .runtime.stage import runtime_stage

# Keyword options: the [tool.sigcheck] keys in Python spelling, plus tags (the CLI's --tags).
OPTIONS = {"select": "select", "ignore": "ignore", "fail_on": "fail_on", "static": "static",
           "severity": "severities", "options": "options", "batch_sizes": "batch_sizes", "timeout": "timeout",
           "max_archive_size": "max_archive_bytes", "allow_unsafe_ops": "allow_unsafe_ops", "jobs": "jobs",
           "kind": "kind"}


def check(handle: str, config: Optional[Config] = None, *, worker=None, progress=None, **options) -> Report:
    """Validate the module at ``handle`` (directory, archive or URL) and return its report.

    ``options`` are the [tool.sigcheck] settings as keywords (``static=True``,
    ``select=["IMG", "OUT401"]``, ``fail_on="warning"``, ``tags=[""]``...),
    applied over ``config`` (default: the defaults, no config file is read).
    ``worker`` (a runtime.runner.Worker) is reused for inference when given;
    ``progress`` (a runtime.stage.Progress) is told what happens."""
    # [tool.sigcheck.per-module."GLOB"] settings apply to every way in: CLI, scan, API, pytest plugin.
    config = with_golden(configure(config, **options).for_module(handle))
    require_tensorflow(config)
    started = time.perf_counter()  # the report's seconds: JUnit's per-module time
    try:
        with resolve(handle, max_archive_bytes=config.max_archive_bytes) as directory:
            facts = read_module(directory)
            verify_golden(config, facts)
            report = _report(handle, directory, facts, config, worker, progress)
    except GoldenError:
        raise  # the golden directory, not the module, is unusable: exit 5 (the CLI), an error (the plugin)
    except SigcheckError as exc:
        report = Report(module=handle, error=ErrorInfo(exc.kind, str(exc)), fail_on=config.fail_on)
    return replace(report, seconds=round(time.perf_counter() - started, 3))


def check_many(handles, config: Optional[Config] = None, **options) -> list:
    """Reports for several modules, in the order given; ``jobs=N`` runs N at a time."""
    from .many import check_many as run_many

    config = configure(config, **options)
    require_tensorflow(config)
    return run_many(list(handles), config, jobs=config.jobs)


def scan(*roots: str, config: Optional[Config] = None, **options) -> list:
    """Reports for every module directory and archive found under ``roots``."""
    from .many import discover_modules

    return check_many([m for root in roots for m in discover_modules(root)], config, **options)


def configure(config: Optional[Config] = None, **options) -> Config:
    """``config`` (or the defaults) with keyword options, each validated like its config key."""
    config = config if config is not None else Config()
    changes = {}
    for key, value in options.items():
        if key == "tags":
            changes["tags"] = None if value is None else tuple(
                parse_tag_set(t) if isinstance(t, str) else tuple(sorted(t))
                for t in ([value] if isinstance(value, str) else value))
        elif key in OPTIONS:
            changes[OPTIONS[key]] = _validate(key, value, "sigcheck")
        else:
            raise ConfigError(f"unknown option {key!r}; known: {', '.join(sorted([*OPTIONS, 'tags']))}")
    return replace(config, **changes)


def require_tensorflow(config: Config, *, hint: str = "--static") -> None:
    """Refuse, in one line, a run that needs TensorFlow where it is not installed (the lean install)."""
    if config.static or importlib.util.find_spec("tensorflow") is not None:
        return
    if any(r.uses_runtime for r in select_rules(load_rules(), config.select, config.ignore)):
        raise UsageError("runtime checks need TensorFlow, which is not installed: "
                         f"pip install 'sigcheck[tf]', or check statically with {hint}")


def _report(handle: str, directory: str, facts: ModuleFacts, config: Config, worker, progress) -> Report:
    checked = _only_tags(facts, config.tags)
    if config.kind:
        facts, checked = replace(facts, forced_kind=config.kind), replace(checked, forced_kind=config.kind)
    rules = select_rules(load_rules(), config.select, config.ignore)
    saved_as = module_format(facts)
    # Only rules that judge this module's format make it run (a TF2 model is not run for TF1 runtime rules).
    applicable = [r for r in rules if saved_as in r.formats]
    outcome = runtime_stage(checked, directory, runtime_settings(applicable, config), worker, progress)
    common = {"severities": config.severities, "options": config.options}
    # Module-level rules (format, uniqueness of tag sets) always see every tag set.
    results = evaluate(facts, [r for r in rules if r.scope == "module"], **common) + evaluate(
        checked, [r for r in rules if r.scope != "module"],
        observations=outcome.observations, runtime_skip_reason=outcome.skip_reason,
        runtime_error=outcome.error, registry=outcome.registry, **common)
    summary = summarize(facts, directory, judged=checked)
    if outcome.sandbox:
        summary["sandbox"] = outcome.sandbox  # only when the module ran: what confined it
    return Report(
        module=handle,
        results=results,
        facts=summary,
        # Every TF2 model is judged by the Reusable SavedModel API rules, whatever its kind.
        image_module=module_kind(checked) != "other" or saved_as == TF2_SAVED_MODEL,
        fail_on=config.fail_on,
    )


def runtime_settings(rules, config: Config) -> RuntimeSettings:
    """What the runtime stage needs to know about the selected ``rules`` and ``config``, as plain values:
    whether to run, which probes (the union of the rules' ``needs``), the safety gate's allowlist
    (SEC601's options, whether or not SEC601 is selected) and the bounds from rule options."""
    by_code = {r.code: r for r in load_rules()}

    def option(code, name):
        return effective_options(by_code[code], config.options)[name]

    runtime = [r for r in rules if r.uses_runtime]
    return RuntimeSettings(
        runs=bool(runtime),
        static=config.static,
        needs=_without_unused_probes(tuple(dict.fromkeys(n for r in runtime for n in r.needs)), config),
        allowed_ops=effective_options(by_code["SEC601"], config.options),
        allow_unsafe_ops=config.allow_unsafe_ops,
        batch_sizes=tuple(config.batch_sizes),
        dropout_runs=int(option("OUT405", "dynamic_runs")),
        max_batch_bytes=int(float(option("RUN501", "max_batch_gib")) * 2**30),
        timeout=config.timeout,
        limits=config.worker_limits(1) if runtime and not config.static else WorkerLimits(),
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


GOLDEN_RULE = "RUN506"


def with_golden(config: Config) -> Config:
    """``config.golden`` (--golden DIR, ``golden = "DIR"``) as the golden rule's option."""
    if not config.golden:
        return config
    from types import MappingProxyType

    ours = {**config.options.get(GOLDEN_RULE, {}), "golden": config.golden}
    return replace(config, options=MappingProxyType({**config.options, GOLDEN_RULE: MappingProxyType(ours)}))


def _golden_dir(config: Config) -> str:
    by_code = {r.code: r for r in load_rules()}
    return effective_options(by_code[GOLDEN_RULE], config.options)["golden"]


def verify_golden(config: Config, facts: ModuleFacts) -> None:
    """A golden directory that is given must be readable and made from this module's interface (GoldenError)."""
    directory = _golden_dir(config)
    if not directory or config.static or not any(
            r.code == GOLDEN_RULE for r in select_rules(load_rules(), config.select, config.ignore)):
        return
    problem = interface_mismatch(read_golden(directory), facts)
    if problem:
        raise GoldenError(f"golden directory {directory} was made from a different interface: {problem}")


def _without_unused_probes(needs: tuple, config: Config) -> tuple:
    """The golden rule's probe runs only when a golden directory is given (else the rule skips)."""
    from .probes import OUTPUTS

    return needs if _golden_dir(config) else tuple(n for n in needs if n != OUTPUTS)
