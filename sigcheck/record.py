"""``@record``: frozen value classes that cost nothing to define.

``@dataclass(frozen=True)`` writes and ``exec``s five methods per class (~0.7 ms each
class, and ``dataclasses`` imports ``inspect``): the facts, results and config of one
static check define some thirty classes, a fifth of the start-up a pre-commit hook
pays on every commit (issue 11).  ``@record`` gives the same behaviour with shared
methods that read the class's field table instead:

- ``__init__(*args, **kwargs)`` in field order, defaults and ``field(default_factory=...)``,
  then ``__post_init__`` if the class has one;
- frozen: assigning or deleting an attribute raises ``FrozenInstanceError`` (an
  ``AttributeError``, as with dataclasses); ``__post_init__`` and ``cached_property``
  may still set values (``object.__setattr__`` / the instance ``__dict__``);
- ``__eq__`` and ``__hash__`` over the fields not marked ``field(compare=False)``, only
  between instances of the same class; ``__repr__`` like a dataclass's;
- ``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass`` still work (the
  ``__dataclass_fields__`` table is built on first use, importing ``dataclasses`` then),
  but sigcheck itself uses :func:`replace` and :func:`fields` from here.
"""

from __future__ import annotations

_MISSING = object()


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a record (what ``dataclasses.FrozenInstanceError`` means)."""


class Field:
    """What ``field(...)`` declares about one field."""

    __slots__ = ("name", "default", "default_factory", "compare", "type")

    def __init__(self, default=_MISSING, default_factory=_MISSING, compare: bool = True):
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.type = None

    def __repr__(self) -> str:
        return f"Field(name={self.name!r})"


def field(*, default=_MISSING, default_factory=_MISSING, compare: bool = True) -> Field:
    """A field's default, default factory or exclusion from ``==`` and ``hash`` (as ``dataclasses.field``)."""
    return Field(default, default_factory, compare)


def record(cls):
    """Make ``cls`` a frozen record of its annotated class attributes (see the module docstring)."""
    table = dict(getattr(cls, "__record_fields__", {}))  # a record base class's fields come first
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
            continue
        declared = cls.__dict__.get(name, _MISSING)
        spec = declared if isinstance(declared, Field) else Field(default=declared)
        spec.name, spec.type = name, annotation
        if isinstance(declared, Field):
            if spec.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, spec.default)
        table[name] = spec
    cls.__record_fields__ = table
    cls._field_names = tuple(table)
    cls._compared = tuple(name for name, spec in table.items() if spec.compare)
    cls._defaults = {n: s.default for n, s in table.items() if s.default is not _MISSING}
    cls._factories = {n: s.default_factory for n, s in table.items() if s.default_factory is not _MISSING}
    cls._template = {name: cls._defaults.get(name, _MISSING) for name in table}
    cls._needed = tuple(name for name in table if name not in cls._defaults)
    cls._post_init = getattr(cls, "__post_init__", None)
    cls.__match_args__ = cls._field_names
    for name, method in _METHODS.items():
        if name not in cls.__dict__:
            setattr(cls, name, method)
    return cls


def fields(obj) -> tuple:
    """The Field of every field of a record (class or instance), in order."""
    return tuple(obj.__record_fields__.values())


def replace(obj, **changes):
    """A copy of ``obj`` with ``changes`` (``__init__`` and ``__post_init__`` run again, as with dataclasses)."""
    table = getattr(type(obj), "__record_fields__", None)
    if table is None:  # a dataclass
        import dataclasses

        return dataclasses.replace(obj, **changes)
    for name in changes:
        if name not in table:
            raise TypeError(f"{type(obj).__name__}.__init__() got an unexpected keyword argument {name!r}")
    values = obj.__dict__
    return type(obj)(**{name: changes[name] if name in changes else values[name] for name in table})


def _init(self, *args, **kwargs):
    cls = type(self)
    names = cls._field_names
    if not kwargs and len(args) == len(names):
        self.__dict__.update(zip(names, args))
    else:
        self.__dict__.update(_bind(cls, args, kwargs))
    if cls._post_init is not None:
        self.__post_init__()


def _bind(cls, args: tuple, kwargs: dict) -> dict:
    """Every field's value, in field order: ``args``, then ``kwargs``, then defaults (``TypeError`` as Python's)."""
    names = cls._field_names
    values = cls._template.copy()  # field order; _MISSING where there is no plain default
    values.update(zip(names, args))
    values.update(kwargs)
    if len(values) != len(names) or len(args) > len(names) or (args and not kwargs.keys().isdisjoint(names[:len(args)])):
        _refuse(cls, args, kwargs)
    for name in cls._needed:  # the fields without a plain default
        if values[name] is _MISSING:
            if name not in cls._factories:
                raise TypeError(f"{cls.__name__}.__init__() missing required argument: {name!r}")
            values[name] = cls._factories[name]()
    return values


def _refuse(cls, args: tuple, kwargs: dict):
    names = cls._field_names
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__}.__init__() takes {len(names) + 1} positional arguments "
                        f"but {len(args) + 1} were given")
    for name in kwargs:
        if name not in names:
            raise TypeError(f"{cls.__name__}.__init__() got an unexpected keyword argument {name!r}")
        if name in names[:len(args)]:
            raise TypeError(f"{cls.__name__}.__init__() got multiple values for argument {name!r}")


def _setattr(self, name, value):
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self, name):
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _key(self) -> tuple:
    values = self.__dict__
    return tuple(values[name] for name in self._compared)


def _eq(self, other):
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _key(self) == _key(other)


def _hash(self) -> int:
    return hash(_key(self))


def _repr(self) -> str:
    values = self.__dict__
    shown = ", ".join(f"{name}={values[name]!r}" for name in self._field_names)
    return f"{type(self).__qualname__}({shown})"


class _DataclassFields:
    """``__dataclass_fields__`` built on first use, so that ``dataclasses.fields``/``replace``/``asdict``
    accept records without sigcheck importing ``dataclasses`` on its own paths."""

    def __get__(self, instance, owner):
        import dataclasses

        found = {}
        for name, spec in owner.__record_fields__.items():
            made = dataclasses.field(default=spec.default if spec.default is not _MISSING else dataclasses.MISSING,
                                     default_factory=(spec.default_factory if spec.default_factory is not _MISSING
                                                      else dataclasses.MISSING),
                                     compare=spec.compare)
            made.name, made.type = name, spec.type
            made._field_type = dataclasses._FIELD  # what dataclasses.fields() keeps
            found[name] = made
        return found


_METHODS = {
    "__init__": _init,
    "__setattr__": _setattr,
    "__delattr__": _delattr,
    "__eq__": _eq,
    "__hash__": _hash,
    "__repr__": _repr,
    "__dataclass_fields__": _DataclassFields(),
}
