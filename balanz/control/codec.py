"""Frozen dataclasses to and from JSON, driven by their type hints.

The monitor protocol must survive the daemon and the monitor being different versions: a reader ignores
fields it does not know and fills fields the writer did not send from their defaults. Doing that by hand
for every snapshot class would be a page of repetitive code per class and easy to get subtly wrong, so the
rule lives here once. Conversions are planned once per class and cached, because a 2,000-charger snapshot
goes through here several times a second.

Supported field types: ``str``, ``int``, ``float``, ``bool``, ``X | None``, ``tuple[X, ...]``, and nested
dataclasses. ``float`` accepts JSON integers (``6`` is ``6.0``); ``int`` refuses floats and booleans.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
Converter = Callable[[Any], Any]


class DecodeError(ValueError):
    """A JSON value does not fit the schema; ``path`` names where (``chargers[3].connectors[0].offer_a``)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem

    def under(self, prefix: str) -> DecodeError:
        joined = (
            f"{prefix}.{self.path}" if self.path and not self.path.startswith("[") else prefix + self.path
        )
        return DecodeError(joined, self.problem)


def to_json(obj: Any) -> Any:
    """The JSON-ready form: dataclasses become dicts (every field, defaults included), tuples lists."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [to_json(item) for item in obj]
    return obj


def from_json(cls: type[T], data: Any) -> T:
    """Build ``cls`` from its JSON form; unknown keys are ignored, missing keys take the field default."""
    result: T = _plan(cls)(data)
    return result


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise DecodeError("", f"expected a string; got {_describe(value)}")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError("", f"expected an integer; got {_describe(value)}")
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DecodeError("", f"expected a number; got {_describe(value)}")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise DecodeError("", f"expected true or false; got {_describe(value)}")
    return value


def _optional(inner: Converter) -> Converter:
    def convert(value: Any) -> Any:
        return None if value is None else inner(value)

    return convert


def _tuple_of(inner: Converter) -> Converter:
    def convert(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise DecodeError("", f"expected a list; got {_describe(value)}")
        out = []
        for index, item in enumerate(value):
            try:
                out.append(inner(item))
            except DecodeError as exc:
                raise exc.under(f"[{index}]") from None
        return tuple(out)

    return convert


_SCALARS: dict[Any, Converter] = {str: _str, int: _int, float: _float, bool: _bool}


def _converter(hint: Any) -> Converter:
    if hint in _SCALARS:
        return _SCALARS[hint]
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            return _optional(_converter(rest[0]))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _tuple_of(_converter(args[0]))
    if dataclasses.is_dataclass(hint):
        return _plan(hint)
    raise TypeError(f"codec: unsupported field type {hint!r}")


@functools.cache
def _plan(cls: type) -> Converter:
    hints = typing.get_type_hints(cls)
    fields = [(f.name, _converter(hints[f.name]), _has_default(f)) for f in dataclasses.fields(cls)]

    def build(data: Any) -> Any:
        if not isinstance(data, dict):
            raise DecodeError("", f"expected an object for {cls.__name__}; got {_describe(data)}")
        kwargs = {}
        for name, convert, optional in fields:
            if name not in data:
                if optional:
                    continue
                raise DecodeError(name, "missing")
            try:
                kwargs[name] = convert(data[name])
            except DecodeError as exc:
                raise exc.under(name) from None
        try:
            return cls(**kwargs)
        except ValueError as exc:
            raise DecodeError("", str(exc)) from None

    return build


def _has_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
