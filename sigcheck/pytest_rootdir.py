"""The pytest plugin's ``--sigcheck PATH`` (space form) must not move pytest's rootdir.

pytest chooses the rootdir and ini file before it loads plugins, when
``--sigcheck`` is still an unknown option and PATH looks like a test path:
``pytest --sigcheck /tmp/x`` then ran with rootdir /tmp/x and without the
project's config.  This hook, part of the plugin, chooses again once the
option is known.  It touches pytest internals (the same in pytest 8 and 9),
guarded so that a pytest without them keeps its own choice.
"""

from __future__ import annotations

import copy
import inspect

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list) -> None:
    """Where ``--sigcheck PATH`` moved the rootdir or ini file, take the project's back, with its addopts."""
    if "--sigcheck" not in args[:-1]:  # only the space form is read as a test path
        return
    try:
        from _pytest.config.findpaths import determine_setup

        setup = _determine_setup(determine_setup, early_config, parser, args)
    except Exception:  # pragma: no cover - a pytest whose internals moved: keep its choice
        return
    rootpath, inipath, inicfg = setup[:3]
    if (rootpath, inipath) == (early_config.rootpath, early_config.inipath):
        return
    early_config._rootpath, early_config._inipath = rootpath, inipath
    setattr(early_config, "_inicfg" if hasattr(early_config, "_inicfg") else "inicfg", inicfg)
    early_config._inicache.clear()
    parser.extra_info.update(rootdir=str(rootpath), inifile=str(inipath))
    addopts = list(early_config.getini("addopts"))
    args[:] = [*addopts, *args]
    early_config.pluginmanager.consider_preparse(addopts, exclude_only=False)
    namespace = parser.parse_known_args(args, namespace=copy.copy(early_config.option))
    if namespace.confcutdir is None:  # not given: pytest's default, from the right ini file
        namespace.confcutdir = str(inipath.parent if inipath is not None else rootpath)
    early_config.known_args_namespace = namespace


def _determine_setup(determine_setup, early_config: pytest.Config, parser: pytest.Parser, args: list):
    namespace = parser.parse_known_args(args, namespace=copy.copy(early_config.option))
    kwargs = {"inifile": namespace.inifilename, "args": namespace.file_or_dir,
              "rootdir_cmd_arg": namespace.rootdir or None, "invocation_dir": early_config.invocation_params.dir}
    if "override_ini" in inspect.signature(determine_setup).parameters:  # pytest 9
        kwargs["override_ini"] = namespace.override_ini
    return determine_setup(**kwargs)
