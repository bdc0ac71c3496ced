"""``--set KEY=VALUE`` overrides: dotted paths into a config, values read as YAML scalars or lists.

``--set optimizer.lr=0.5 --set model.hidden=[16,16]`` becomes
``{"optimizer": {"lr": 0.5}, "model": {"hidden": [16, 16]}}`` merged into the file's
mapping before validation, so an override is checked exactly like the file. A path
that the schema does not know is refused with a did-you-mean, and a value the schema refuses
is reported under the ``--set`` that gave it (:func:`name_overrides`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from gradlab.errors import InputError, did_you_mean


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["a.b=1", "c=[1,2]"]`` -> ``{"a.b": 1, "c": [1, 2]}`` (values read as YAML, as in a config file)."""
    from gradlab.config import read_yaml_text

    parsed: dict[str, Any] = {}
    for item in items:
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq or not key or any(not part for part in key.split(".")):
            raise InputError(f"--set expects KEY=VALUE with a dotted key, e.g. optimizer.lr=0.5, got {item!r}")
        if not text.strip():  # read as YAML, nothing would be null: the setting silently back to its default
            raise InputError(f"--set {key}: the value is empty; put a YAML value after '=' (null to unset the key)")
        parsed[key] = read_yaml_text(text, f"--set {key}: cannot read value {text!r}")
    return parsed


def _model_at(model, path: Sequence[str]):
    """The pydantic model that holds the keys at ``path`` (None where the schema is not a model)."""
    from typing import get_args

    from pydantic import BaseModel

    current = model
    for part in path:
        field = current.model_fields.get(part) if current is not None else None
        if field is None:
            return None
        candidates = [t for t in (field.annotation, *get_args(field.annotation))
                      if isinstance(t, type) and issubclass(t, BaseModel)]
        current = candidates[0] if candidates else None
    return current


def _known_keys(model, path: Sequence[str]) -> list[str] | None:
    """Field names (and aliases) of the pydantic model at ``path``; None where the schema is open."""
    from gradlab.config import accepted_keys

    current = _model_at(model, path)
    if current is None or current.model_config.get("extra") == "allow":
        return None
    return accepted_keys(current)


def synonyms(model, path: Sequence[str], key: str) -> list[str]:
    """Every spelling of the field ``key`` names at ``path`` (``lr``, ``learning_rate``), the
    field name first; just ``[key]`` when the key is no field there."""
    current = _model_at(model, path)
    for name, info in (current.model_fields.items() if current is not None else ()):
        names = [name, info.alias, *getattr(info.validation_alias, "choices", ())]
        names = list(dict.fromkeys(n for n in names if isinstance(n, str)))
        if key in names:
            return names
    return [key]


def check_key(dotted: str, model, flag: str = "--set") -> None:
    """Refuse a dotted key the pydantic ``model`` does not know, with a did-you-mean."""
    parts = dotted.split(".")
    for depth in range(len(parts)):
        known = _known_keys(model, parts[:depth])
        if known is not None and parts[depth] not in known:
            prefix = ".".join(parts[:depth])
            full = [f"{prefix}.{k}" if prefix else k for k in known]
            raise InputError(f"{flag} {dotted}: unknown key{did_you_mean('.'.join(parts[:depth + 1]), full)}; "
                             f"keys here: {', '.join(full)}")


def apply_overrides(raw: Mapping[str, Any], overrides: Mapping[str, Any], model=None,
                    flag: str = "--set") -> dict[str, Any]:
    """Return a copy of ``raw`` with each dotted override set; with a pydantic ``model``,
    unknown keys are refused (``optimizer.lrr`` -> did you mean 'optimizer.lr'?), the
    message starting with ``flag``."""
    result = copy.deepcopy(dict(raw))
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        if model is not None:
            check_key(dotted, model, flag)
        node = result
        for part in parts[:-1]:
            child = node.get(part)
            if isinstance(child, str):  # a spec written as a name becomes a mapping to take a parameter
                child = {"name": child}
            elif not isinstance(child, dict):
                child = {}
            node[part] = child
            node = child
        names = synonyms(model, parts[:-1], parts[-1]) if model is not None else [parts[-1]]
        for name in names:  # learning_rate=... replaces an lr: already there rather than clashing with it
            node.pop(name, None)
        node[names[0]] = value
    return result


def name_overrides(message: str, overrides: Mapping[str, Any], model=None, flag: str = "--set",
                   every_line: bool = False, written: Mapping[str, str] | None = None) -> str:
    """Name the ``--set`` behind each line of a validation ``message`` about a value it set.

    A line ``optimizer.lr: input should be greater than 0 (got -1)`` becomes ``--set
    optimizer.lr: input should ...`` when ``optimizer.lr`` (or a synonym, with ``model``) was
    overridden, ``data.n_samples must be >= 3, got 1`` becomes ``--set data.n_samples: must be
    >= 3, got 1``, and so does a line about the component or section that holds the key: ``optimizer:
    unknown value 'adamm'`` is ``--set optimizer.name: unknown value 'adamm'``. A line about a part
    of an overridden value keeps its own path after the key: ``--set model.hidden: model.hidden[0]:
    ...``, and so does one about a number that a key below it made a mapping (``--set lr.x: lr:
    input should be a valid number``). Other lines (the file's problems) are kept, unless
    ``every_line``: the one override (a ``--grid`` value that fails on its own) is behind them all.
    ``written`` says how a key is written after ``flag`` where not as itself: a ``--grid`` key with
    the value that failed, ``--grid training.batch_size=0: must be ...``.
    """
    lines = []
    for line in message.splitlines():
        field, rest = _subject(line)
        key = _override_of(field, overrides, model) if field else None
        if key is None and every_line:
            key, = overrides
        if key is None:
            lines.append(line)
            continue
        inside = key.startswith(f"{field}.") and _holds_keys(model, field)
        if inside and not _mentions(rest, key, overrides[key]):
            lines.append(line)  # the component's own problem in the file: 'optimizer: unknown value' beside --set optimizer.lr
            continue
        about_key = inside or field in _spellings(key, model)
        lines.append(f"{flag} {(written or {}).get(key, key)}: {rest if about_key else line}")
    return "\n".join(lines)


def _mentions(text: str, key: str, value: Any) -> bool:
    """Whether a message about the component holding ``key`` is about the override: it names the key's
    last part (``mse has no parameter 'delta'`` for ``loss.delta``) or its value (``unknown value
    'adamm'`` for ``optimizer.name=adamm``), as a word of its own."""
    import re

    words = [key.rpartition(".")[2]] + ([str(value)] if isinstance(value, (str, int, float)) else [])
    return any(re.search(rf"(?<![\w.-]){re.escape(word)}(?![\w.])", text) for word in words if word)


def _subject(line: str) -> tuple[str, str]:
    """The field a message line is about and what it says of it: ``("optimizer.lr", "input should
    be ...")`` from ``optimizer.lr: input should be ...``, and ``("data.n_samples", "must be ...")``
    from ``data.n_samples must be ...``, as data's and an optimizer's own checks word it."""
    head, space, rest = line.partition(" ")
    if not space:
        return "", line
    return (head[:-1], rest) if head.endswith(":") else (head, rest)


def _holds_keys(model, dotted: str) -> bool:
    """Whether the schema's field ``dotted`` is a mapping of its own keys: a section or a component
    spec (``optimizer``, ``model.init``), not a number that a ``--set`` below it made a mapping."""
    from typing import get_args, get_origin

    from pydantic import BaseModel

    parts = dotted.split(".")
    owner = _model_at(model, parts[:-1]) if model is not None else None
    field = owner.model_fields.get(parts[-1]) if owner is not None else None
    if field is None:
        return False
    return any(get_origin(t) is dict or t is dict or (isinstance(t, type) and issubclass(t, BaseModel))
               for t in (field.annotation, *get_args(field.annotation)))


def _spellings(dotted: str, model) -> list[str]:
    """``lr`` -> ``["lr", "learning_rate"]``: the dotted key with each name its last part has."""
    parts = dotted.split(".")
    names = synonyms(model, parts[:-1], parts[-1]) if model is not None else [parts[-1]]
    return [".".join([*parts[:-1], name]) for name in names]


def _override_of(field: str, overrides: Mapping[str, Any], model) -> str | None:
    """The override key that set ``field``, a value containing it (``model.hidden`` for
    ``model.hidden[0]``) or a key inside it (``lr.x`` made ``lr`` a mapping); None when no
    override did."""
    for key in overrides:
        for spelling in _spellings(key, model):
            if field == spelling or field.startswith((f"{spelling}.", f"{spelling}[")) or \
                    spelling.startswith(f"{field}."):
                return key
    return None
