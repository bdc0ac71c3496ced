"""Reading config files and reporting what is wrong with them.

YAML is loaded with ``yaml.safe_load`` only (a config can never run code). Validation
errors from the pydantic schemas are turned into one line per problem, each with its
dotted path, the offending value and what is allowed, and a did-you-mean for keys the
schema does not know.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gradlab.errors import ConfigError, InputError, did_you_mean


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML mapping from ``path``; missing files, syntax errors and non-mappings are
    :class:`InputError` naming the file (and the line of a syntax error)."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"config file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"config file {str(path)!r} is a directory, expected a YAML file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read config file {str(path)!r}: {error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InputError(f"{path}:{where}: invalid YAML: {problem}") from None
    if data is None:
        raise InputError(f"config file {str(path)!r} is empty")
    if not isinstance(data, dict):
        raise InputError(f"config file {str(path)!r} must hold a mapping of keys, got {type(data).__name__}")
    return data


def _fields_at(model, loc: tuple) -> list[str]:
    """Field names of the (nested) pydantic model at ``loc``, for did-you-mean suggestions."""
    from typing import get_args

    from pydantic import BaseModel

    current = model
    for part in loc:
        field = current.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return []
        nested = [t for t in (field.annotation, *get_args(field.annotation))
                  if isinstance(t, type) and issubclass(t, BaseModel)]
        if not nested:
            return []
        current = nested[0]
    return list(current.model_fields)


def validation_message(error, model=None) -> str:
    """One line per problem of a ``pydantic.ValidationError``: ``path: what is wrong (got value)``."""
    lines = []
    for item in error.errors(include_url=False):
        loc = tuple(part for part in item["loc"] if not _is_type_tag(part))
        path = ".".join(str(p) for p in loc) or "config"
        if item["type"] == "extra_forbidden":
            known = _fields_at(model, loc[:-1]) if model is not None else []
            hint = did_you_mean(str(loc[-1]), known)
            allowed = f"; allowed here: {', '.join(known)}" if known else ""
            lines.append(f"{path}: unknown key{hint}{allowed}")
            continue
        message = item["msg"].removeprefix("Value error, ")
        got = "" if item["type"] == "missing" else f" (got {item.get('input')!r})"
        lines.append(f"{path}: {message}{got}")
    # a union reports one failure per member; the same line twice helps nobody
    return "\n".join(dict.fromkeys(lines))


def _is_type_tag(part: object) -> bool:
    """pydantic puts the member types of a union into an error's location ("int",
    "literal['full']", "function-after[...]"); they mean nothing to a user."""
    return isinstance(part, str) and (part in ("str", "int", "float", "bool", "none") or "[" in part)


def validate(model, data: dict[str, Any]):
    """``model.model_validate(data)``, with failures raised as one :class:`ConfigError`."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ConfigError(validation_message(error, model)) from None
