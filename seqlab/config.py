"""Frozen-dataclass configuration: YAML load/save, typed ``a.b=c`` overrides, ``ConfigError``.

A config is a tree of frozen dataclasses whose fields are ``int``, ``float``, ``str``,
``bool``, ``tuple[...]``, optional values or nested dataclasses. :func:`from_dict` builds one
from plain data (as loaded from YAML), checking every key and type; :func:`apply_overrides`
applies command-line ``--set`` strings such as ``optim.lr=1e-3``.

>>> cfg = load_yaml(ExperimentConfig, "conf/train.yaml", overrides=["optim.lr=1e-3"])
>>> save_yaml(cfg, "exp/config.yaml")
"""

from __future__ import annotations

import dataclasses
import numbers
import os
import types
import typing
from typing import Any, TypeVar

import yaml

from seqlab.io import atomic_write

__all__ = ["ConfigError", "from_dict", "to_dict", "load_yaml", "save_yaml", "apply_overrides"]

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value or key is invalid; the message names the key (and file)."""


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain nested dict of a dataclass config (tuples become lists, YAML-safe)."""

    def convert(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, (tuple, list)):
            return [convert(v) for v in value]
        return value

    return convert(cfg)


def convert_value(value: Any, tp: Any, key: str) -> Any:
    """``value`` checked against (and, for numbers, converted to) the type hint ``tp``.

    Raises:
        ConfigError: naming ``key`` when ``value`` does not fit ``tp``.
    """
    return _convert(value, tp, key)


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Check/convert ``value`` to type ``tp``; ``key`` (dotted) names it in errors."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{key}: invalid value {value!r}")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return from_dict(tp, value, prefix=key)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{key}: expected {len(args)} values, got {len(value)}")
        return tuple(_convert(v, a, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)  # numpy and other integer types too
        if isinstance(value, str):  # YAML reads "1e4" (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML reads "1e-3" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    if tp is Any:
        return value
    raise ConfigError(f"{key}: unsupported field type {tp!r}")


def from_dict(cls: type[T], data: dict[str, Any] | None, prefix: str = "") -> T:
    """Build dataclass ``cls`` from nested plain data; missing keys keep their defaults.

    Raises:
        ConfigError: an unknown key or a value of the wrong type (naming the dotted key).
    """
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            raise ConfigError(f"{dotted}: unknown key (expected one of {sorted(names)})")
        kwargs[key] = _convert(value, hints[key], dotted)
    return cls(**kwargs)


def apply_overrides(cfg: T, overrides: list[str] | tuple[str, ...]) -> T:
    """Return ``cfg`` with ``"a.b.c=value"`` overrides applied (values parsed as YAML; a
    mapping given for a section updates only the keys it names).

    Raises:
        ConfigError: malformed override, unknown key or wrong type, naming the key.
    """
    data = to_dict(cfg)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected KEY=VALUE (e.g. optim.lr=1e-3)")
        key, raw = item.split("=", 1)
        key = key.strip()
        parts = key.split(".")
        node = data
        for i, part in enumerate(parts[:-1]):
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"{'.'.join(parts[: i + 1])}: unknown config section in {key!r}")
            node = node[part]
        if parts[-1] not in node:
            raise ConfigError(f"{key}: unknown key")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as e:
            raise ConfigError(f"{key}: cannot parse value {raw!r} ({e})") from e
        node[parts[-1]] = _merged(node[parts[-1]], value)
    return from_dict(type(cfg), data)


def _merged(old: Any, new: Any) -> Any:
    """``new`` over ``old``: a mapping over a section updates its keys (recursively), so
    ``--set model.conformer={dim: 128}`` keeps the section's other values."""
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{k: _merged(old.get(k), v) for k, v in new.items()}}
    return new


def load_yaml(cls: type[T], path: str | os.PathLike, overrides: list[str] | None = None) -> T:
    """Load a ``cls`` config from a YAML file, then apply ``overrides``.

    Raises:
        ConfigError: unreadable/invalid YAML or a bad key/value, naming the file.
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config ({e.strerror or e})") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason})") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML ({e})") from e
    try:
        cfg = from_dict(cls, data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from e
    return apply_overrides(cfg, overrides or [])


def save_yaml(cfg: Any, path: str | os.PathLike) -> None:
    """Write ``cfg`` as YAML atomically (readable back with :func:`load_yaml`)."""
    with atomic_write(path) as f:
        yaml.safe_dump(to_dict(cfg), f, sort_keys=False)
