"""Name -> class registries: one source for the engine, the config schema, the CLI and the docs.

A component is named by a *spec*, written the same way everywhere:

- a bare name: ``"sigmoid"``
- a name with parameters, as typed on the command line: ``"leaky_relu:alpha=0.1"``
- a mapping, as written in YAML: ``{"name": "leaky_relu", "alpha": 0.1}``

Parameters are the keyword arguments of the registered class's ``__init__``; unknown
names and unknown parameters are refused with the valid choices listed.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from gradlab.errors import InputError, did_you_mean, overflows_float, unknown_choice

T = TypeVar("T")


#: a number written as text (a CSV cell, descend's start point x0, a spec's parameter, a config value
#: left as text): ASCII decimal or scientific notation, or nan/inf (refused later as not finite, with
#: that reason). Python's int() and float() also read '4_92' and fullwidth '１２'; no CSV writer means
#: a number by those, and the README's rule for numbers does not either.
NUMBER_TEXT = re.compile(r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|nan|inf(?:inity)?)\s*",
                         re.ASCII | re.IGNORECASE)


def number_in_text(value: Any) -> Any:
    """``value``, or the number a text holds by the README's rule (:data:`NUMBER_TEXT`).

    The YAML loader leaves a whole number with a leading zero as text (``n_samples: 017``, so that
    a run named ``08`` stays ``'08'``): a setting that takes a number reads that text as 17.
    """
    return parse_scalar(value) if isinstance(value, str) and NUMBER_TEXT.fullmatch(value) else value


#: the texts a setting that takes true or false reads (any case): YAML 1.2 makes only true and false
#: booleans, so ``shuffle: no`` arrives as text; configs written for YAML 1.1 meant false by it
YES_NO_TEXT = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def yes_or_no(value: Any) -> bool:
    """``value`` as a setting that takes true or false reads it: a bool, or a text of :data:`YES_NO_TEXT`.

    Raises
    ------
    ValueError
        Anything else, ``1`` and ``'y'`` included: ``must be true or false (or yes/no, on/off), got 1``.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in YES_NO_TEXT:
        return YES_NO_TEXT[value.strip().lower()]
    raise ValueError(f"must be true or false (or yes/no, on/off), got {value!r}")


def parse_scalar(text: str) -> Any:
    """Read ``"3"``, ``"0.1"``, ``"1e-3"``, ``"true"`` or ``"none"`` as a Python value; else keep the text.

    Raises
    ------
    ValueError
        A number too large for a float64 (``1e309``; ``inf`` itself is read).
    """
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null", "~"):
        return None
    if not NUMBER_TEXT.fullmatch(text):  # int() and float() would read 'alpha=0.1_0' as 0.1
        return text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text.strip()
    problem = overflows_float(text, value)
    if problem:
        raise ValueError(problem)
    return value


def split_spec(spec: str, field: str, example: str = "alpha=0.1") -> tuple[str, dict[str, Any]]:
    """``"leaky_relu:alpha=0.1"`` -> ``("leaky_relu", {"alpha": 0.1})``; names are not checked here.

    ``example`` is the ``key=value`` the message for a malformed parameter shows.
    """
    name, _, rest = spec.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise InputError(f"{field}: parameter {item!r} in {spec!r} must be written key=value, e.g. '{name}:{example}'")
        key = key.strip()
        if key in params:
            raise InputError(f"{field}: parameter {key} is given twice in {spec!r}; give it once")
        try:
            params[key] = parse_scalar(value)
        except ValueError as error:
            raise InputError(f"{field}: parameter {key} in {spec!r}: {error}") from None
    return name, params


class Registry(Generic[T]):
    """A dictionary of named classes with aliases, spec parsing and did-you-mean errors.

    Parameters
    ----------
    kind : str
        What the entries are ("activation", "loss", ...), used in messages.
    names : sequence of str, optional
        The only names that may be registered, where they must be known without importing the
        registering module (a CLI help text listing them, see :mod:`gradlab.names`).
    """

    def __init__(self, kind: str, names: Sequence[str] | None = None) -> None:
        self.kind = kind
        self._classes: dict[str, type[T]] = {}
        self._aliases: dict[str, str] = {}
        self._allowed = None if names is None else tuple(names)

    def register(self, name: str, *aliases: str):
        """Class decorator: register ``cls`` under ``name`` (and ``aliases``) and set ``cls.name``."""

        def decorate(cls: type[T]) -> type[T]:
            for key in (name, *aliases):
                if key in self._classes or key in self._aliases:
                    raise ValueError(f"{self.kind} {key!r} registered twice")
            if self._allowed is not None and name not in self._allowed:
                raise ValueError(f"{self.kind} {name!r} is not one of the names {self._allowed} given to its "
                                 "registry; add it there (gradlab.names), so that the help lists it")
            cls.name = name
            cls.aliases = tuple(aliases)
            self._classes[name] = cls
            for alias in aliases:
                self._aliases[alias] = name
            return cls

        return decorate

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)

    def __contains__(self, name: object) -> bool:
        return name in self._classes or name in self._aliases

    def names(self, aliases: bool = False) -> list[str]:
        """Canonical names in registration order (followed by the aliases if asked)."""
        return list(self._classes) + (list(self._aliases) if aliases else [])

    def items(self) -> list[tuple[str, type[T]]]:
        return list(self._classes.items())

    def canonical(self, name: str, field: str | None = None) -> str:
        """The canonical name for ``name`` or one of its aliases."""
        if name in self._classes:
            return name
        if name in self._aliases:
            return self._aliases[name]
        raise unknown_choice(field or self.kind, name, self.names(aliases=True))

    def get(self, name: str, field: str | None = None) -> type[T]:
        """The class registered as ``name`` (an alias works too)."""
        return self._classes[self.canonical(name, field)]

    def parameters(self, name: str) -> dict[str, Any]:
        """Keyword parameters of the class and their defaults (``inspect.Parameter.empty`` if none)."""
        signature = inspect.signature(self.get(name).__init__)
        return {
            p.name: p.default
            for p in list(signature.parameters.values())[1:]
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }

    def parse(self, spec: str | Mapping[str, Any], field: str | None = None) -> tuple[str, dict[str, Any]]:
        """Split a spec into its canonical name and its parameters, checking both.

        Examples
        --------
        ``"leaky_relu:alpha=0.1"`` -> ``("leaky_relu", {"alpha": 0.1})``;
        ``{"name": "elu", "alpha": 2}`` -> ``("elu", {"alpha": 2})``.
        """
        field = field or self.kind
        if isinstance(spec, Mapping):
            params = dict(spec)
            if "name" not in params:
                raise InputError(f"{field}: a mapping needs a 'name' key, got {dict(spec)!r}")
            name = params.pop("name")
        elif isinstance(spec, str):
            name, params = split_spec(spec, field)
        else:
            raise InputError(f"{field}: expected a name or a mapping, got {spec!r}")
        if not isinstance(name, str):
            raise InputError(f"{field}: name must be text, got {name!r}")
        name = self.canonical(name.strip(), field)
        allowed = self.parameters(name)
        # parse_scalar reads the text none as None; a parameter whose default is text (gelu's
        # approximate='none') means the text: 'gelu:approximate=none' is gelu's default, spelt out
        params = {k: "none" if v is None and isinstance(allowed.get(k), str) else v for k, v in params.items()}
        if isinstance(spec, Mapping):  # {name: elu, alpha: 01}: YAML leaves 01 as text, a number by the rule
            params = {k: v if isinstance(allowed.get(k), str) else number_in_text(v) for k, v in params.items()}
        for key in params:
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                known = ", ".join(allowed) or "none"
                raise InputError(f"{field}: {name} has no parameter {key!r}{hint}; parameters: {known}")
        missing = [k for k, v in allowed.items() if v is inspect.Parameter.empty and k not in params]
        if missing:
            raise InputError(f"{field}: {name} needs parameter(s) {', '.join(missing)}")
        return name, params

    def identity(self, spec: str | Mapping[str, Any], field: str | None = None) -> tuple[str, dict[str, Any]]:
        """:meth:`parse` with every parameter left out written at its default: what a spec builds,
        however it is spelt (``leaky_relu``, ``leaky_relu:alpha=0.01`` and ``{name: leaky_relu}``
        all give ``("leaky_relu", {"alpha": 0.01})``)."""
        name, params = self.parse(spec, field)
        return name, {**self.parameters(name), **params}

    def create(self, spec: str | Mapping[str, Any] | T, field: str | None = None) -> T:
        """Instantiate a spec; an already built instance is passed through."""
        if not isinstance(spec, (str, Mapping)):
            return spec  # type: ignore[return-value]
        name, params = self.parse(spec, field)
        cls = self._classes[name]
        try:
            return cls(**params)
        except InputError as error:
            raise InputError(f"{field or self.kind}: {error}") from None
        except (TypeError, ValueError) as error:
            raise InputError(f"{field or self.kind}: {name}: {error}") from None
