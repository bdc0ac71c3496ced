"""What gradlab has: every registry by kind, loaded lazily, described from the classes themselves.

``gradlab list`` (and anything else that needs to enumerate components) reads this
table instead of knowing the modules. A kind whose module is not part of this build
(yet) is skipped, so a new registry appears by adding one line here.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass, field
from typing import Any

from gradlab.errors import InputError, unknown_choice

#: kind -> "module:attribute" places its registry may live, tried in order.
KINDS: dict[str, tuple[str, ...]] = {
    "activations": ("gradlab.engine.activations:activations",),
    "losses": ("gradlab.engine.losses:losses",),
    "optimizers": ("gradlab.engine.optimizers:optimizers",),
    "schedules": ("gradlab.engine.schedules:schedules",),
    "initializers": ("gradlab.engine.init:initializers",),
    "datasets": ("gradlab.datasets:datasets",),
}

REQUIRED = inspect.Parameter.empty


@dataclass
class Entry:
    """One registered component: its names, parameters (default or :data:`REQUIRED`) and formulas.

    ``formulas`` maps the suffix of each ``<what>_formula`` class attribute to its text,
    e.g. ``{"derivative": "sigma'(z) = sigma(z) (1 - sigma(z))"}``.
    """

    name: str
    aliases: tuple[str, ...]
    parameters: dict[str, Any]
    formula: str
    formulas: dict[str, str] = field(default_factory=dict)


def singular(kind: str) -> str:
    """``losses`` -> ``loss``, ``activations`` -> ``activation``."""
    return kind[:-2] if kind.endswith("sses") else kind[:-1]


def _load(source: str) -> Any | None:
    """The object at ``module:attribute``, or None if that module or attribute does not exist."""
    module_name, _, attribute = source.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        # only the module itself (or its package) being absent means "not in this build";
        # a missing dependency inside it is a real error and must be seen
        if error.name is None or not (module_name == error.name or module_name.startswith(error.name + ".")):
            raise
        return None
    return getattr(module, attribute, None)


def load(kind: str) -> Any | None:
    """The registry of ``kind``, or None when it is not part of this build."""
    for source in KINDS[kind]:
        registry = _load(source)
        if registry is not None:
            return registry
    return None


def available() -> dict[str, Any]:
    """Every kind whose registry exists, in :data:`KINDS` order."""
    found = {kind: load(kind) for kind in KINDS}
    return {kind: registry for kind, registry in found.items() if registry is not None}


def resolve_kind(word: str) -> str:
    """The kind named by ``word`` (plural or singular), refused with the choices if unknown or absent."""
    kinds = {singular(k): k for k in KINDS} | {k: k for k in KINDS}
    kind = kinds.get(word.strip().lower())
    if kind is None:
        raise unknown_choice("list", word, list(KINDS))
    if load(kind) is None:
        places = " or ".join(source.partition(":")[0] for source in KINDS[kind])
        raise InputError(f"list: this build of gradlab has no {kind} yet ({places} not found)")
    return kind


def _parameters(registry: Any, name: str, obj: Any) -> dict[str, Any]:
    if hasattr(registry, "parameters"):
        return dict(registry.parameters(name))
    params = inspect.signature(obj).parameters.values()
    return {p.name: p.default for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _first_doc_line(obj: Any) -> str:
    """The docstring's first line as plain text: ``W ~ N(0, std^2)`` and :math:`x` lose their markup."""
    # obj.__doc__, not inspect.getdoc: a class without a docstring must not show its base's
    doc = (getattr(obj, "__doc__", None) or "").strip()
    line = doc.splitlines()[0].strip() if doc else ""
    return re.sub(r":\w+:`([^`]*)`", r"\1", line).replace("``", "")


def describe(registry: Any) -> list[Entry]:
    """An :class:`Entry` per component, from its ``formula`` attribute (else its docstring's first line)."""
    entries = []
    for name, obj in registry.items():
        extra = {
            attribute[: -len("_formula")]: text
            for attribute in dir(obj)
            if attribute.endswith("_formula") and not attribute.startswith("_")
            and isinstance(text := getattr(obj, attribute), str) and text
        }
        aliases = tuple(getattr(obj, "aliases", ()))
        entries.append(Entry(name, aliases, _parameters(registry, name, obj),
                             getattr(obj, "formula", "") or _first_doc_line(obj), extra))
    return entries
