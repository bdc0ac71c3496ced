"""Configs: YAML loading, typed schemas, and readable validation messages.

The pieces every command with a ``--config FILE`` shares:

- :func:`load_yaml` reads a file into a dict, or raises an
  :class:`~gradlab.errors.InputError` naming the file (and the line of a syntax error).
- :func:`validation_message` turns a ``pydantic.ValidationError`` into lines
  ``field.path: message (got value)``, with a did-you-mean for unknown keys.
- :func:`merge` lays command-line flags (``None`` = not given) over the file's values.

Schemas forbid unknown keys (``extra="forbid"``), so a misspelt key is an error, not
a silently ignored setting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional, get_args

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gradlab.descent import DEFAULT_STEPS, DEFAULT_TOL, Settings
from gradlab.errors import ConfigError, InputError, did_you_mean

DEFAULT_FUNCTION = "x**2 - 4*x + 6"


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML file whose top level is a mapping (an empty file reads as ``{}``).

    Raises
    ------
    InputError
        The file is missing or unreadable, is not valid YAML (the message names the line
        and column), or its top level is not a mapping.
    """
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a config file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read the config file: {error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(filter(None, (error.context, error.problem)))
        raise InputError(f"{path}{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise InputError(f"{path}: invalid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(
            f"{path}, line 1: the top level must be a mapping of settings (key: value), "
            f"got a {type(data).__name__}"
        )
    return data


def merge(file_values: Mapping[str, Any], flags: Mapping[str, Any]) -> dict[str, Any]:
    """File values overridden by the flags that were given (flags left at ``None`` are not)."""
    return {**file_values, **{k: v for k, v in flags.items() if v is not None}}


def validation_message(
    exc: ValidationError, prefix: str = "", sep: str = "; ", model: type[BaseModel] | None = None
) -> str:
    """Describe every error in ``exc`` as ``field.path: message (got value)``.

    Parameters
    ----------
    exc : pydantic.ValidationError
        From validating a gradlab model.
    prefix : str
        Put before each line, e.g. ``"run.yaml: "``.
    sep : str
        Between the lines; ``"; "`` keeps the CLI's error on one line, ``"\\n"`` lists them.
    model : pydantic model class, optional
        The model validated; found from ``exc.title`` when not given. Its field names
        (and aliases), followed into nested models along the error's path, are what an
        unknown key is matched against for the did-you-mean.

    Notes
    -----
    Messages of gradlab's own checks already quote the value, so ``(got ...)`` is added
    only to pydantic's generic ones.
    """
    model = model or _model_named(exc.title)
    lines = []
    for error in exc.errors(include_url=False):
        where, kind = _location(error["loc"]), error["type"]
        if kind == "extra_forbidden":
            allowed = _keys(_model_at(model, error["loc"][:-1]))
            listing = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
            lines.append(f"{prefix}{where}: unknown key{did_you_mean(str(error['loc'][-1]), allowed)}{listing}")
            continue
        message = error["msg"]
        if kind == "value_error":
            message = message.removeprefix("Value error, ")
        elif kind != "missing":
            message = f"{message[:1].lower()}{message[1:]} (got {error['input']!r})"
        named = where and (message.startswith(f"{where}:") or message.startswith(f"{where} "))
        lines.append(f"{prefix}{message}" if named or not where else f"{prefix}{where}: {message}")
    return sep.join(lines)


def _location(loc: tuple) -> str:
    """``("layers", 0, "units")`` -> ``layers[0].units``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _model_named(title: str) -> type[BaseModel] | None:
    """The model class called ``title``: gradlab's own first, else the only one of that name."""
    found, stack = [], list(BaseModel.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls.__name__ == title:
            found.append(cls)
        stack.extend(cls.__subclasses__())
    ours = [cls for cls in found if cls.__module__.startswith("gradlab.")]
    if len(ours) == 1:
        return ours[0]
    return found[0] if len(found) == 1 else None


def _model_at(model: type[BaseModel] | None, loc: tuple) -> type[BaseModel] | None:
    """The (nested) model that holds the key at ``loc``; list/dict indices are stepped over."""
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int) or part not in model.model_fields:
            continue  # an index into a list, or a dict key: stay with the element model found below
        model = _inner_model(model.model_fields[part].annotation)
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The first pydantic model inside an annotation such as ``Optional[list[Layer]]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _keys(model: type[BaseModel] | None) -> list[str]:
    """The keys a model accepts: its field names and their aliases."""
    if model is None:
        return []
    names = []
    for name, info in model.model_fields.items():
        names.append(name)
        for alias in (info.alias, *getattr(info.validation_alias, "choices", ())):
            if isinstance(alias, str) and alias not in names:
                names.append(alias)
    return names


def validate(model: type[BaseModel], data: Mapping[str, Any], prefix: str = "") -> BaseModel:
    """``model.model_validate(data)``, with failures raised as one readable :class:`ConfigError`."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as error:
        raise ConfigError(validation_message(error, prefix)) from None


# --------------------------------------------------------------------------- gradlab descend


def parse_point(value: Any) -> list[float]:
    """Read a start point: ``8``, ``"8"``, ``"-1.5,2"``, ``"(-1.5, 2)"`` or ``[-1.5, 2]``.

    Raises
    ------
    ValueError
        ``x0: malformed number 'abc' in '1,abc'`` and the like.
    """
    if isinstance(value, bool):
        raise ValueError(f"x0: expected numbers, got {value!r}")
    if isinstance(value, (int, float)):
        items: list[Any] = [value]
    elif isinstance(value, str):
        inner = value.strip().strip("()[]")
        items = [part.strip() for part in inner.split(",")] if inner.strip() else []
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ValueError(f"x0: expected a number or numbers separated by commas, got {value!r}")
    if not items:
        raise ValueError(f"x0: no numbers given in {value!r}; e.g. --x0 8 or --x0=-1.5,2")
    point = []
    for item in items:
        try:
            if isinstance(item, bool):
                raise TypeError
            point.append(float(item))
        except (TypeError, ValueError):
            raise ValueError(
                f"x0: malformed number {item!r} in {value!r}; write numbers separated by commas, e.g. -1.5,2"
            ) from None
    return point


class DescendConfig(BaseModel):
    """Settings of ``gradlab descend``, from flags and/or YAML (flags win).

    ``lr`` left out means 0.1 (1 for ``newton``); ``every`` left out chooses a row
    interval that keeps the table to about 100 rows. The validated config holds the
    resolved ``lr``, so writing :meth:`resolved` to ``config.yaml`` reproduces the run.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    f: str = DEFAULT_FUNCTION
    x0: list[float] = Field(default_factory=lambda: [8.0])
    lr: Optional[float] = Field(default=None, validation_alias=AliasChoices("lr", "learning_rate"))
    steps: int = DEFAULT_STEPS
    tol: float = DEFAULT_TOL
    method: str = "gd"
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    every: Optional[int] = Field(default=None, ge=1)
    digits: int = Field(default=6, ge=1, le=17)
    name: Optional[str] = None
    plot: bool = True

    @field_validator("x0", mode="before")
    @classmethod
    def _point(cls, value: Any) -> list[float]:
        return parse_point(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: Optional[str]) -> Optional[str]:
        from gradlab.runs import check_name

        return check_name(value, "name")

    @model_validator(mode="after")
    def _numbers(self) -> DescendConfig:
        # one set of rules for the library and the config: Settings checks and resolves them
        settings = self.settings()
        self.method, self.lr = settings.method, settings.lr
        return self

    def settings(self) -> Settings:
        """The numeric settings of the run (raises InputError for out-of-range values)."""
        return Settings(lr=self.lr, steps=self.steps, tol=self.tol, method=self.method,
                        momentum=self.momentum, beta1=self.beta1, beta2=self.beta2, eps=self.eps)

    def resolved(self) -> dict[str, Any]:
        """Every setting, as written to the run's ``config.yaml``."""
        return self.model_dump()
