"""sigcheck: does a TF1 Hub image module follow the Common Signatures for Images?

The public API (``from sigcheck import check, check_many, scan, Config, Report``)
is imported on first use, so ``import sigcheck`` stays cheap and a static
check never imports TensorFlow.
"""

import os as _os

__version__ = "0.1.0"

# The module recipes live at the top of a source checkout (fixtures/); an install
# ships them as sigcheck/fixtures.  Let `sigcheck.fixtures` resolve in a checkout
# too (python -m from the repository root imports this directory, not the install).
_CHECKOUT = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(__path__[0], "fixtures")) and _os.path.isfile(
        _os.path.join(_CHECKOUT, "fixtures", "__init__.py")):
    __path__.append(_CHECKOUT)

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
