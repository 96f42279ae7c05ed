"""Run the selected rules' checks over a module's facts and stamp results.

The engine owns everything rules have in common: which rules apply (scope,
stage), severity (a violation is ``fail`` for error rules and ``warn`` for
warning rules, after config overrides) and turning a crashing check into an
``error`` result so the run goes on.
"""

from __future__ import annotations

from typing import Mapping, Optional

from .checks._context import Context
from .facts.model import ModuleFacts
from .probes import REGISTRY
from .results import Result
from .rules import Rule, matches

# Why a runtime rule has nothing to judge when the caller gave no observations and no other reason.
NOT_RUN = "no runtime observations: the module was not run"


def select_rules(rules, select=(), ignore=()) -> tuple:
    """Rules matching ``select`` (all when empty) and not ``ignore``; codes or prefixes."""
    return tuple(r for r in rules if (not select or matches(r.code, select)) and not matches(r.code, ignore))


def evaluate(
    facts: ModuleFacts,
    rules,
    *,
    observations=None,
    runtime_skip_reason: Optional[str] = None,
    runtime_error: Optional[str] = None,
    severities: Mapping = None,
    options: Mapping = None,
    registry: Optional[Mapping] = None,
) -> tuple:
    ctx = Context(facts, observations, runtime_skip_reason, runtime_error, registry)
    results = []
    for rule in rules:
        severity = (severities or {}).get(rule.code, rule.severity)
        results.extend(_run(rule, severity, effective_options(rule, options), ctx))
    return tuple(results)


def effective_options(rule: Rule, overrides: Mapping = None) -> dict:
    """The rule's options from rules/*.toml with the config's overrides applied."""
    return {**rule.options, **(overrides or {}).get(rule.code, {})}


def _not_applicable(rule: Rule, ctx: Context) -> Optional[str]:
    if ctx.module_format not in rule.formats:
        return f"applies to {', '.join(rule.formats)} modules; this is a {ctx.module_format}"
    if rule.scope != "module" and not ctx.facts.meta_graphs:
        return "no meta graph to check (see HUB102)"
    if rule.scope == "image" and not ctx.is_image_module:
        return "not an image module: no signature takes 'images' or is named image_feature_vector/image_classification"
    if rule.scope == "text" and ctx.kind != "text":
        return f"not a text module (kind: {ctx.kind}): no `default` signature maps one string or token input " \
               "to a rank-2 float output"
    if rule.stage == "runtime" and ctx.runtime_skip_reason and not _asks_registry_only(rule, ctx):
        return ctx.runtime_skip_reason
    return None


def _asks_registry_only(rule: Rule, ctx: Context) -> bool:
    """A rule that reads only the op registry is judged even when the module was not run (the worker
    answered the registry question without loading it)."""
    return rule.needs == (REGISTRY,) and ctx.registry is not None


def _run(rule: Rule, severity: str, options: dict, ctx: Context) -> list:
    def stamp(status, message, **where):
        return Result(rule=rule.code, name=rule.name, severity=severity, status=status, message=message,
                      spec=rule.spec, category=rule.category, **where)

    reason = _not_applicable(rule, ctx)
    if reason:
        return [stamp("skip", reason)]
    if rule.stage == "runtime" and ctx.runtime_error:
        return [stamp("error", f"runtime check could not complete: {ctx.runtime_error}")]
    if rule.stage == "runtime" and ctx.observations is None and not _asks_registry_only(rule, ctx):
        # one reason for all, not one per check
        return [stamp("skip", NOT_RUN)]
    violation_status = "fail" if severity == "error" else "warn"
    results = []
    try:
        for finding in rule.check(ctx, options):
            status = violation_status if finding.outcome == "violation" else finding.outcome
            results.append(stamp(status, finding.message, tags=finding.tags, signature=finding.signature,
                                 location=finding.location, evidence=finding.evidence))
    except Exception as exc:  # a bug in one check must not end the run
        import traceback  # only when a check crashed: start-up is paid on every commit

        frame = traceback.extract_tb(exc.__traceback__)[-1]
        results.append(stamp(
            "error",
            f"check crashed: {type(exc).__name__}: {exc} (at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})"))
    return results or [stamp("skip", "nothing to check")]
