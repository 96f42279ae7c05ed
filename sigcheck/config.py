"""One validated Config from defaults, ``[tool.sigcheck]`` and command-line flags.

Config files: ``--config FILE`` (a pyproject.toml with ``[tool.sigcheck]`` or a
file whose top level holds the keys), otherwise the first pyproject.toml with a
``[tool.sigcheck]`` table found from the working directory upward.  Every key
and value is validated here, in one place: unknown keys and bad values are a
ConfigError (exit 2), never ignored.  Flags override the file.
"""

from __future__ import annotations

import math
import os
import posixpath
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import Mapping, Optional

from .errors import ConfigError
from .record import field, record, replace
from .resolve import DEFAULT_MAX_ARCHIVE_BYTES, parse_size
from .results import FAIL_ON
from .vocabulary import SEVERITIES

DEFAULT_BATCH_SIZES = (1, 2, 5)
DEFAULT_TIMEOUT = 300.0
MAX_TIMEOUT = 1e6  # seconds (11.6 days); "none" means no limit
NO_LIMIT = ("none", "no-limit")
MIN_MEMORY = 2**30  # a worker needs ~0.3 GiB to import TensorFlow, more to run anything


def physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 * 2**30


def default_max_memory() -> int:
    """Half of physical memory, for all workers of a run together."""
    return max(MIN_MEMORY, physical_memory() // 2)


@record
class Config:
    select: tuple = ()
    ignore: tuple = ()
    fail_on: str = "error"
    static: bool = False
    tags: Optional[tuple] = None  # tag sets to check, e.g. ((), ("train",)); None = all
    severities: Mapping = field(default_factory=lambda: MappingProxyType({}))  # code -> error|warning
    options: Mapping = field(default_factory=lambda: MappingProxyType({}))  # code -> {option: value}
    batch_sizes: tuple = DEFAULT_BATCH_SIZES
    timeout: float = DEFAULT_TIMEOUT  # math.inf: no limit ("none")
    max_archive_bytes: int = DEFAULT_MAX_ARCHIVE_BYTES
    max_memory: int = 0  # bytes all workers of a run may use together; 0 = default_max_memory()
    require_sandbox: bool = False  # refuse to run modules where the worker cannot be sandboxed
    allow_unsafe_ops: bool = False
    kind: Optional[str] = None  # "image" | "text": judge the module as that kind; None = detect it
    jobs: int = 0  # worker processes for several modules; 0 = number of cores
    progress: bool = False  # show progress on stderr (the CLI decides: TTY and not --quiet)
    cache_dir: Optional[str] = None  # the result cache (sigcheck.cache); None = no cache
    source: Optional[str] = None  # the config file the values came from
    per_module: tuple = ()  # (glob, {"ignore": (...), "severity": {...}, "options": {...}}) in file order
    diff: Mapping = field(default_factory=lambda: MappingProxyType({}))  # sigcheck diff thresholds ([tool.sigcheck.diff])
    golden: Optional[str] = None  # a golden-outputs directory (sigcheck snapshot) RUN506 compares with

    def __post_init__(self):
        """Values are validated like the CLI's flags, so that the Python API cannot build a Config the
        CLI would refuse (``select="IMG302"`` is one code, not the letters I, M, G...)."""
        for key in ("select", "ignore"):
            value = getattr(self, key)
            object.__setattr__(self, key, codes([value] if isinstance(value, str) else list(value or ()), key))
        if self.select or self.ignore:
            check_selection(self.select, self.ignore)
        if self.fail_on not in FAIL_ON:
            raise ConfigError(f"fail-on must be one of {', '.join(FAIL_ON)}, not {self.fail_on!r}")
        for key in ("static", "allow_unsafe_ops", "progress"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(f"{key.replace('_', '-')} must be true or false, not {getattr(self, key)!r}")
        object.__setattr__(self, "batch_sizes", parse_batch_sizes(self.batch_sizes, "batch-sizes"))
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float)) or not self.timeout > 0:
            raise ConfigError(f"timeout must be a positive number of seconds, not {self.timeout!r}")
        if isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 0:
            raise ConfigError(f"jobs must be a whole number >= 0 (0 = one per core), not {self.jobs!r}")
        if self.kind is not None:
            parse_kind(self.kind, "kind")

    def worker_memory(self, jobs: int) -> int:
        """The memory bound of each of ``jobs`` workers: the run's share."""
        return (self.max_memory or default_max_memory()) // max(1, jobs)

    def worker_limits(self, jobs: int = 1):
        """What bounds each of ``jobs`` runtime workers (for runtime.runner.sandboxed_worker)."""
        from .runtime.settings import WorkerLimits

        return WorkerLimits(self.worker_memory(jobs), self.require_sandbox)

    def for_module(self, handle: str) -> "Config":
        """This config with the ``[tool.sigcheck.per-module."GLOB"]`` tables whose glob matches
        ``handle`` applied: their ignores added, their severities and options over the run's."""
        if not self.per_module:
            return self
        names = _module_names(handle, self.source)
        ignore, severities, options = list(self.ignore), dict(self.severities), dict(self.options)
        for pattern, overrides in self.per_module:
            if any(fnmatchcase(name, pattern) for name in names):
                ignore += overrides.get("ignore", ())
                severities.update(overrides.get("severity", {}))
                for code, values in overrides.get("options", {}).items():
                    options[code] = MappingProxyType({**options.get(code, {}), **values})
        return replace(self, ignore=tuple(dict.fromkeys(ignore)), severities=MappingProxyType(severities),
                       options=MappingProxyType(options))

    def merged(self, **changes) -> "Config":
        """A copy with the non-None ``changes`` applied (flags over file values)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def parse_tag_set(text: str) -> tuple:
    """``""`` -> (), ``"train"`` -> ("train",), ``"serve,gpu"`` -> ("gpu", "serve")."""
    return tuple(sorted(t.strip() for t in text.split(",") if t.strip()))


def codes(values, what: str) -> tuple:
    """Rule codes, prefixes or names (input-dtype) from strings or comma-separated lists; validated."""
    from .rules import load_rules

    rules = load_rules()
    by_name = {r.name: r.code for r in rules}
    found = tuple(by_name.get(c.strip().lower(), c.strip().upper()) for v in values for c in str(v).split(",")
                  if c.strip())
    for code in found:
        if not any(r.code.startswith(code) for r in rules):
            raise ConfigError(f"{what}: {code!r} matches no rule (codes look like IMG302, prefixes like IMG, "
                              f"names like input-dtype)")
    return found


def check_selection(select, ignore) -> None:
    """A selection that leaves no rule to check is a mistake, never a pass."""
    from .rules import load_rules, matches

    for code in (*select, *ignore):
        if not isinstance(code, str) or not any(r.code.startswith(code.upper()) for r in load_rules()):
            raise ConfigError(f"select/ignore: {code!r} matches no rule (codes look like IMG302 or prefixes like IMG)")
    if not any((not select or matches(r.code, select)) and not matches(r.code, ignore) for r in load_rules()):
        raise ConfigError(f"no rule selected: select {', '.join(select) or 'all'} minus ignore "
                          f"{', '.join(ignore)} leaves nothing to check")


def _module_names(handle: str, source: Optional[str]) -> set:
    """``handle`` as given, and relative to the config file's directory and to the working directory."""
    path = handle.rstrip("/") or handle
    names = {path, posixpath.normpath(path)}
    if "://" not in handle:
        absolute = os.path.abspath(path)
        bases = [os.getcwd()] + ([os.path.dirname(os.path.abspath(source))] if source and os.path.isfile(source) else [])
        names.update(os.path.relpath(absolute, base) for base in bases)
        names.add(absolute)
    return names


def find_config(start: str) -> Optional[str]:
    """The nearest pyproject.toml with a [tool.sigcheck] table, from ``start`` upward."""
    directory = os.path.abspath(start)
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate) and _sigcheck_table(candidate, required=False) is not None:
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def load_config(path: Optional[str] = None, *, search_from: Optional[str] = None) -> Config:
    """Config from ``path`` (or the discovered pyproject.toml), defaults otherwise."""
    if path is None:
        path = find_config(search_from or os.getcwd())
        if path is None:
            return Config()
    table = _sigcheck_table(path, required=True)
    return config_from_table(table, source=path)


def _sigcheck_table(path: str, *, required: bool):
    try:  # imported here: most runs read no config file, and start-up pays for every import
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            document = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    table = document.get("tool", {}).get("sigcheck")
    if table is None and required:
        if os.path.basename(path) == "pyproject.toml":
            raise ConfigError(f"{path}: no [tool.sigcheck] table")
        table = document
    return table


_KEYS = ("select", "ignore", "severity", "fail_on", "batch_sizes", "timeout", "static", "options",
         "max_archive_size", "allow_unsafe_ops", "jobs", "max_memory", "require_sandbox", "cache", "per_module",
         "diff", "golden", "kind")
_PER_MODULE_KEYS = ("ignore", "severity", "options")


def config_from_table(table: Mapping, *, source: str = "config") -> Config:
    values = {}
    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        if key not in _KEYS:
            raise ConfigError(f"{source}: unknown key {raw_key!r} in [tool.sigcheck]; known: "
                              f"{', '.join(k.replace('_', '-') for k in _KEYS)}")
        values[key] = _validate(key, value, source)
    mapping = {"severity": "severities", "max_archive_size": "max_archive_bytes", "cache": "cache_dir"}
    # max_memory keeps its name: a size in bytes once validated
    return Config(source=source, **{mapping.get(k, k): v for k, v in values.items()})


def _validate(key: str, value, source: str):
    where = f"{source}: {key.replace('_', '-')}"
    if key in ("select", "ignore"):
        return codes(_list_of(value, str, where), where)
    if key == "severity":
        return MappingProxyType(_severities(value, where))
    if key == "fail_on":
        if value not in FAIL_ON:
            raise ConfigError(f"{where} must be one of {', '.join(FAIL_ON)}, not {value!r}")
        return value
    if key == "batch_sizes":
        return parse_batch_sizes(value, where)
    if key == "timeout":
        return parse_timeout(value, where)
    if key == "jobs":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{where} must be a whole number >= 0 (0 = one per core), not {value!r}")
        return value
    if key in ("static", "allow_unsafe_ops", "require_sandbox"):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}")
        return value
    if key == "max_archive_size":
        return _size(value, where)
    if key == "max_memory":
        return parse_memory(value, where)
    if key == "options":
        return MappingProxyType(rule_options(value, where))
    if key == "cache":
        return _cache_dir(value, where, source)
    if key == "per_module":
        return _per_module(value, where)
    if key == "diff":
        return MappingProxyType(diff_thresholds(value, where))
    if key == "golden":
        return _golden_dir(value, where, source)
    if key == "kind":
        return parse_kind(value, where)
    raise AssertionError(key)  # pragma: no cover - _KEYS and _validate disagree


KINDS = ("image", "text")


def parse_kind(value, where="kind") -> str:
    """``image`` or ``text``: the module kind to judge the module as (facts.kind)."""
    if value not in KINDS:
        raise ConfigError(f"{where} must be one of {', '.join(KINDS)}, not {value!r}")
    return value


def _per_module(value, where) -> tuple:
    """``{GLOB: {ignore, severity, options}}``, each value validated like its top-level key."""
    if not isinstance(value, Mapping):
        raise ConfigError(f'{where} must be a table of module globs, like [tool.sigcheck.per-module."exports/old_*"]')
    found = []
    for pattern, table in value.items():
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}.{pattern!r} must be a table with ignore, severity or options")
        checked = {}
        for raw_key, setting in table.items():
            key = raw_key.replace("-", "_")
            if key not in _PER_MODULE_KEYS:
                raise ConfigError(f"{where}.{pattern!r}: unknown key {raw_key!r}; known: {', '.join(_PER_MODULE_KEYS)}")
            checked[key] = _validate(key, setting, f"{where}.{pattern!r}")
        found.append((pattern.rstrip("/"), MappingProxyType(checked)))
    return tuple(found)


def _size(value, where) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError(f"{where} must be a size like \"4GiB\", not {value!r}")
    try:
        return parse_size(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def parse_memory(value, where="max-memory") -> int:
    """A size of at least 1 GiB, for all workers together."""
    size = _size(value, where)
    if size < MIN_MEMORY:
        raise ConfigError(f"{where}: {value!r} is below the minimum of 1GiB (a worker needs that to run TensorFlow)")
    return size


def parse_timeout(value, where="timeout") -> float:
    """Seconds: a positive finite number up to 1e6, or "none" for no limit."""
    if isinstance(value, str) and value.strip().lower() in NO_LIMIT:
        return math.inf
    try:
        seconds = float(value) if isinstance(value, str) and not isinstance(value, bool) else value
    except ValueError:
        seconds = None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) \
            or not 0 < seconds <= MAX_TIMEOUT:
        raise ConfigError(f"{where} must be a positive number of seconds up to {MAX_TIMEOUT:g}, or \"none\" for "
                          f"no limit, not {value!r}")
    return float(seconds)


def _cache_dir(value, where: str, source: str) -> Optional[str]:
    """``true`` (the user cache directory), ``false``, or a directory relative to the config file."""
    from .cache import default_cache_dir

    if isinstance(value, bool):
        return default_cache_dir() if value else None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} must be true, false or a directory, not {value!r}")
    base = os.path.dirname(os.path.abspath(source)) if os.path.isfile(source) else os.getcwd()
    return os.path.join(base, os.path.expanduser(value))


def _list_of(value, kind, where) -> list:
    if isinstance(value, kind):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, kind) for v in value):
        raise ConfigError(f"{where} must be a list of {kind.__name__}, not {value!r}")
    return value


def _severities(value, where) -> dict:
    from .rules import load_rules

    known = {r.code for r in load_rules()}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table like {{ IMG302 = \"warning\" }}")
    result = {}
    for code, severity in value.items():
        if code.upper() not in known:
            raise ConfigError(f"{where}: unknown rule {code!r}")
        if severity not in SEVERITIES:
            raise ConfigError(f"{where}.{code} must be one of {', '.join(SEVERITIES)}, not {severity!r}")
        result[code.upper()] = severity
    return result


def rule_options(value, where) -> dict:
    """``{CODE: {option: value}}`` checked against each rule's declared options and their types."""
    from .rules import load_rules

    rules = {r.code: r for r in load_rules()}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table of rule codes, like [tool.sigcheck.options.SEC601]")
    result = {}
    for code, options in value.items():
        rule = rules.get(code.upper())
        if rule is None:
            raise ConfigError(f"{where}: unknown rule {code!r}")
        if not isinstance(options, Mapping):
            raise ConfigError(f"{where}.{code} must be a table of options")
        checked = {}
        for name, option in options.items():
            if name not in rule.options:
                known = ", ".join(rule.options) or "none"
                raise ConfigError(f"{where}.{code}: unknown option {name!r} (options of {rule.code}: {known})")
            checked[name] = _same_type(option, rule.options[name], f"{where}.{code}.{name}")
        result[rule.code] = MappingProxyType(checked)
    return result


def _same_type(value, default, where):
    """``value`` of the default's type: whole numbers >= 1 for integer options,
    finite numbers >= 0 for the others, lists of the default's element type
    (strings when the default list is empty)."""
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(value, bool) and isinstance(default, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if ok and value < 1:
            raise ConfigError(f"{where} must be a whole number >= 1, not {value!r}")
        value = int(value) if ok else value
    elif isinstance(default, float):
        ok = isinstance(value, (int, float))
        if ok and not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"{where} must be a finite number >= 0, not {value!r}")
    elif isinstance(default, list):
        kind = type(default[0]) if default else str
        ok = isinstance(value, list) and all(isinstance(v, kind) and not isinstance(v, bool) for v in value)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"{where} must be like the default {default!r}, not {value!r}")
    return tuple(value) if isinstance(value, list) else value


def parse_batch_sizes(value, where="batch sizes") -> tuple:
    """``[1, 2, 5]`` or ``"1,2,5"`` -> (1, 2, 5); each a whole number >= 1."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise ConfigError(f"{where} must be a non-empty list of whole numbers, not {value!r}")
    sizes = []
    for item in items:
        try:
            size = int(str(item).strip())
        except ValueError:
            raise ConfigError(f"{where}: {item!r} is not a whole number") from None
        if size < 1 or size > 4096:
            raise ConfigError(f"{where}: {size} is outside 1..4096")
        sizes.append(size)
    return tuple(dict.fromkeys(sizes))


def diff_thresholds(value, where) -> dict:
    """``[tool.sigcheck.diff]``: the behaviour thresholds of ``sigcheck diff``, numbers in [0, 1] (or above, for
    max-relative-difference)."""
    from .diffing.behaviour import THRESHOLDS

    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table of thresholds: {', '.join(k.replace('_', '-') for k in THRESHOLDS)}")
    checked = {}
    for raw, number in value.items():
        name = raw.replace("-", "_")
        if name not in THRESHOLDS:
            raise ConfigError(f"{where}: unknown threshold {raw!r}; known: "
                              f"{', '.join(k.replace('_', '-') for k in THRESHOLDS)}")
        if isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0:
            raise ConfigError(f"{where}.{raw} must be a number >= 0, not {number!r}")
        checked[name] = float(number)
    return checked


def _golden_dir(value, where: str, source: str) -> str:
    """A golden-outputs directory, relative to the config file."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} must be a directory written by 'sigcheck snapshot', not {value!r}")
    base = os.path.dirname(os.path.abspath(source)) if os.path.isfile(source) else os.getcwd()
    return os.path.join(base, os.path.expanduser(value))
