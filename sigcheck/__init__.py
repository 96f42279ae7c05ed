"""sigcheck: does a TF1 Hub image module follow the Common Signatures for Images?

The public API (``from sigcheck import check, check_many, scan, Config, Report``)
is imported on first use, so ``import sigcheck`` stays cheap and a static
check never imports TensorFlow.
"""

from .bundled import checkout_fixtures_parent as _fixtures_parent

__version__ = "0.1.0"

# `sigcheck.fixtures` in a source checkout is the top-level fixtures/ (bundled.py finds it).
if _fixtures_parent():
    __path__.append(_fixtures_parent())

_PUBLIC = {
    "check": "api", "check_many": "api", "scan": "api",
    "Config": "config", "load_config": "config",
    "Report": "results", "Result": "results",
    "SigcheckError": "errors", "ConfigError": "errors",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'sigcheck' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_PUBLIC})
