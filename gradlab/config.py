"""Configs: YAML loading, typed schemas, and readable validation messages.

The pieces every command with a ``--config FILE`` shares:

- :func:`load_yaml` reads a file into a dict, or raises an
  :class:`~gradlab.errors.InputError` naming the file (and the line of a syntax error).
- :func:`validation_message` turns a ``pydantic.ValidationError`` into lines
  ``field.path: message (got value)``, with a did-you-mean for unknown keys.
- :func:`validate` validates a mapping against a schema, raising one :class:`ConfigError`.
- :func:`flatten` turns nested settings into dotted keys (``optimizer.lr``), the form
  ``--set`` and ``--grid`` take and ``compare`` shows.
- :data:`Int`, :data:`Float` and :data:`FiniteFloat`, the number types of the schemas:
  ``true``/``false`` is no number (pydantic alone would read it as 1/0), nor is text such as ``'1_0'``;
  and :data:`Bool`, for true or false: ``1`` is not one, the text ``yes``/``no``/``on``/``off`` is.

The schemas live with what they configure: ``descent.config.DescendConfig``,
``experiment.ExperimentConfig``.

Schemas forbid unknown keys (``extra="forbid"``), so a misspelt key is an error, not
a silently ignored setting.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Annotated, Any, Optional, get_args

from pydantic import AllowInfNan, BaseModel, BeforeValidator, ValidationError, WithJsonSchema

from gradlab.errors import ConfigError, InputError, did_you_mean, overflows_float
from gradlab.registry import NUMBER_TEXT, YES_NO_TEXT, yes_or_no


def as_written(value: Any) -> str:
    """A value for a message, spelt as in YAML where Python's spelling differs: ``true``, ``null``, ``'abc'``."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return repr(value)


def _numbers_only(kind: str):
    """A before-validator refusing what pydantic would take for a number of ``kind`` but the README's
    rule does not: ``True``/``False`` (YAML reads ``epochs: true``, or ``--set steps=true``, as a bool,
    which pydantic would take as 1), and text not in ASCII decimal or scientific notation (pydantic
    reads ``'1_0'``, which the YAML loader leaves as text, as 10)."""

    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"input should be {kind}, not true or false (got {as_written(value)})")
        if isinstance(value, str) and not NUMBER_TEXT.fullmatch(value):
            raise ValueError(f"input should be {kind} in ASCII decimal or scientific notation (got {value!r})")
        return value

    return BeforeValidator(check)


#: a whole number in a schema: ``3`` or ``3.0``, not ``true`` or ``1_0``
Int = Annotated[int, _numbers_only("a whole number")]
#: a number in a schema: ``0.1``, ``1e-3``, ``2``, not ``true`` or ``0.1_0`` (``nan`` and ``inf`` are left to its own checks)
Float = Annotated[float, _numbers_only("a number")]


def _yes_or_no(value: Any) -> bool:
    """:func:`~gradlab.registry.yes_or_no`, its message in a schema's words; pydantic alone would
    also take 1, 'y' or 't' for true (the data settings, checked by the same function, do not)."""
    try:
        return yes_or_no(value)
    except ValueError as error:
        raise ValueError(f"input should be {str(error).removeprefix('must be ')}") from None


#: true or false in a schema: ``true``, or the text ``yes``/``on`` (``no``/``off``), any case; not ``1``
Bool = Annotated[bool, BeforeValidator(_yes_or_no), WithJsonSchema({"anyOf": [
    {"type": "boolean"},  # and the texts, as an editor reading YAML 1.2 sees them: 'shuffle: no' is text there
    {"type": "string", "enum": [form for text in YES_NO_TEXT for form in (text, text.title(), text.upper())]},
]})]
#: a finite number in a schema: a :data:`Float` that is not ``nan`` or ``inf``
FiniteFloat = Annotated[Float, AllowInfNan(False)]


def _one_line(text: str) -> str:
    """The CLI prints each line of a message as an error of its own: one problem, one line."""
    return " ".join(text.split())


#: YAML's tags for the two kinds of number
_INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
#: the README's rule for numbers (ASCII decimal or scientific notation, as NUMBER_TEXT on the command
#: line), as YAML plain scalars: YAML 1.2's core schema without its 0o17 and 0x1A. PyYAML follows
#: YAML 1.1, which also reads 1_0 as 10, 1:0 as 60 (base 60), 017 as 15 (octal), 0x1A and 0b101:
#: read by these, they stay text, which every number field refuses as not written by the rule.
#: A whole number with a leading zero (017, 08) stays text too: a number field reads that text as
#: 17 by the rule, and a text field keeps it, as YAML 1.1 kept 08 (configs written before this
#: loader have a run named 08 or a CSV column 09 unquoted)
_YAML_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
#: YAML's tag for true and false, and the plain scalars that hold one: YAML 1.2's core schema. PyYAML
#: follows YAML 1.1, which also reads yes/no/on/off as true/false: 'features: [on, off]' named
#: columns True and False, 'class_names: [no, yes]' classes False and True. Read by these, they
#: stay text, which a setting that takes true or false reads as YAML 1.1 did (:func:`yes_or_no`)
_BOOL_TAG = "tag:yaml.org,2002:bool"
_YAML_BOOL = re.compile(r"true|True|TRUE|false|False|FALSE")
#: what an explicit ``!!int`` may hold: decimal digits, leading zeros included
_YAML_WHOLE = re.compile(r"[-+]?[0-9]+")
_YAML_FLOAT = re.compile(r"[-+]?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+"
                         r"|\.(?:inf|Inf|INF))|\.(?:nan|NaN|NAN)")


def _resolve_numbers_by_the_rule(cls: type) -> type:
    """``cls``, a PyYAML loader or dumper, also resolving the texts that :data:`_YAML_INT` and
    :data:`_YAML_FLOAT` match as numbers (the loader has dropped YAML 1.1's int and float forms first)."""
    cls.add_implicit_resolver(_INT_TAG, re.compile(f"^(?:{_YAML_INT.pattern})$"), list("-+0123456789"))
    cls.add_implicit_resolver(_FLOAT_TAG, re.compile(f"^(?:{_YAML_FLOAT.pattern})$"), list("-+.0123456789"))
    return cls


@functools.cache
def _unique_key_loader() -> type:
    """PyYAML's SafeLoader, refusing a key given twice in one mapping (SafeLoader keeps the last
    silently: ``lr: 0.1`` then ``lr: 10`` trains with 10), and reading numbers and booleans by the
    README's rule (YAML 1.2's core schema: ``no`` is text, ``false`` a boolean)."""
    import yaml

    def refuse(node, text: str, allowed: str):
        return yaml.constructor.ConstructorError(None, None, f"{text!r} is not {allowed}", node.start_mark)

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # <<: *defaults; its keys may be overridden
                    continue
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, Hashable):
                    continue  # the base class refuses it with its own message
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} is given twice in one mapping", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep)

        def construct_yaml_int(self, node):
            # the base class reads 017 as octal; only an explicit !!int gets here with other text
            text = self.construct_scalar(node)
            if not _YAML_WHOLE.fullmatch(text):
                raise refuse(node, text, "a whole number in decimal notation")
            return int(text)

        def construct_yaml_float(self, node):
            text = self.construct_scalar(node)
            if not (_YAML_WHOLE.fullmatch(text) or _YAML_FLOAT.fullmatch(text)):  # an explicit !!float 1_0
                raise refuse(node, text, "a number in decimal or scientific notation")
            # 1e309 would become inf, and the message about it would then say "got inf": name the text
            value = super().construct_yaml_float(node)
            problem = overflows_float(text, value)
            if problem:
                raise yaml.constructor.ConstructorError(None, None, f"{problem}; write .inf for infinity",
                                                        node.start_mark)
            return value

        def construct_yaml_bool(self, node):
            # the base class reads an explicit !!bool yes as true
            text = self.construct_scalar(node)
            if not _YAML_BOOL.fullmatch(text):
                raise refuse(node, text, "true or false")
            return text.lower() == "true"

    UniqueKeyLoader.add_constructor(_INT_TAG, UniqueKeyLoader.construct_yaml_int)
    UniqueKeyLoader.add_constructor(_FLOAT_TAG, UniqueKeyLoader.construct_yaml_float)
    UniqueKeyLoader.add_constructor(_BOOL_TAG, UniqueKeyLoader.construct_yaml_bool)
    UniqueKeyLoader.yaml_implicit_resolvers = {  # YAML 1.1's int, float and bool forms go
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT_TAG, _FLOAT_TAG, _BOOL_TAG)]
        for first, resolvers in UniqueKeyLoader.yaml_implicit_resolvers.items()}
    UniqueKeyLoader.add_implicit_resolver(_BOOL_TAG, re.compile(f"^(?:{_YAML_BOOL.pattern})$"), list("tTfF"))
    return _resolve_numbers_by_the_rule(UniqueKeyLoader)


@functools.cache
def _fast_loader() -> type | None:
    """:func:`_unique_key_loader` on libyaml's parser, or None where PyYAML was built without it.

    Only the parsing moves to C (about 8x faster on a run's ``config.yaml``: ``gradlab runs`` reads
    one per run); the constructors and resolvers, which decide what every scalar becomes, stay the
    Python loader's own.
    """
    import yaml

    if not yaml.__with_libyaml__:
        return None
    from yaml.constructor import SafeConstructor
    from yaml.cyaml import CParser
    from yaml.resolver import Resolver

    python_loader = _unique_key_loader()

    class FastUniqueKeyLoader(CParser, python_loader):
        def __init__(self, stream):
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    return FastUniqueKeyLoader


#: text the fast loader may take: what gradlab writes in its records, plain ASCII without tags,
#: anchors, block scalars, escapes or tabs, where libyaml and PyYAML's own parser differ (libyaml
#: reads 'a\t:1' and '|#', which PyYAML refuses, and a bare '!' as '' where PyYAML gives None).
#: libyaml's composer also recurses in C, without Python's recursion limit ('[' * 100000 ends the
#: process): the text must be short and hold few characters that open a level, so that its
#: nesting stays far below what the C stack holds. Anything else goes to the Python loader alone
_FAST_TEXT = re.compile(r"[A-Za-z0-9_ \n\r.:,'\"\[\]{}#/+~()-]*")
_FAST_MAX_CHARS, _FAST_MAX_OPENERS = 1 << 16, 1000


#: the deepest result the fast loader may return. The Python loader refuses ~490 levels (its
#: recursion), and so would copy.deepcopy of anything near that deep later; what libyaml reads
#: deeper than this is read again by the Python loader, so that every text keeps that loader's
#: answer. No config needs more than a few levels
_FAST_MAX_DEPTH = 64


def _nesting_at_most(data: Any, limit: int) -> bool:
    """Whether the lists and mappings in ``data`` nest at most ``limit`` deep (no recursion)."""
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return False
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return True


def _fast_enough(text: str) -> bool:
    """Whether ``text`` is safe for :func:`_fast_loader` (see :data:`_FAST_TEXT`)."""
    return (len(text) <= _FAST_MAX_CHARS and _FAST_TEXT.fullmatch(text) is not None
            and sum(map(text.count, "[{-")) <= _FAST_MAX_OPENERS)


@functools.cache
def _dumper() -> type:
    """PyYAML's SafeDumper, quoting a string that :func:`_unique_key_loader` would read as a number
    (``name: '08'``), and also one that YAML 1.1 would read as a number or a boolean (``'1_0'``,
    ``'no'``): the file reads the same anywhere."""
    import yaml

    return _resolve_numbers_by_the_rule(type("QuotingDumper", (yaml.SafeDumper,), {}))


def dump_yaml(data: Any) -> str:
    """``data`` (plain dicts, lists, strings, numbers) as YAML text that :func:`load_yaml` reads back
    to the same values; keys in their order, text as written (no escapes for non-ASCII)."""
    import yaml

    return yaml.dump(data, Dumper=_dumper(), sort_keys=False, allow_unicode=True)


class _YamlProblem(InputError):
    """Text that is not valid YAML: ``problem`` in one line, ``at`` its ``, line L, column C`` (or "")."""

    def __init__(self, problem: str, mark=None) -> None:
        self.problem = _one_line(problem)
        self.at = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        super().__init__(self.problem)


def _parse_yaml(text: str) -> Any:
    """The YAML document in ``text``, read by the safe loader (its tags never build Python objects)
    that also refuses duplicate keys; any problem is a :class:`_YamlProblem`, in the Python loader's
    words (libyaml's parser, tried first on short plain text, speaks differently)."""
    import yaml

    fast = _fast_loader()
    if fast is not None and _fast_enough(text):
        try:
            loader = fast(text)
            try:
                data = loader.get_single_data()
            finally:
                loader.dispose()
            if _nesting_at_most(data, _FAST_MAX_DEPTH):
                return data
        except Exception:  # noqa: BLE001 - the Python loader below reads it again, for its own message
            pass
    try:
        loader = _unique_key_loader()(text)  # its reader refuses control characters right here
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        problem = " ".join(filter(None, (error.context, error.problem)))
        raise _YamlProblem(problem, error.problem_mark or error.context_mark) from None
    except yaml.YAMLError as error:  # a reader error spans lines
        raise _YamlProblem(str(error)) from None
    except (ValueError, TypeError, AttributeError, OverflowError) as error:
        # PyYAML's constructors raise these unwrapped for well-formed but impossible values
        # ('a: 2001-13-45' -> ValueError, 'a: !!timestamp x' -> AttributeError)
        raise _YamlProblem(str(error)) from None
    except RecursionError:  # PyYAML's parser and constructor recurse once per level: '[[[[...]]]]'
        raise _YamlProblem("nested too deeply (no config needs more than a few levels)") from None


def read_yaml_text(text: str, what: str) -> Any:
    """``text`` typed on the command line (a ``--set`` value, a ``--grid`` list) read as YAML.

    Raises
    ------
    InputError
        ``"{what}: <the problem>"``, in one line.
    """
    try:
        return _parse_yaml(text)
    except _YamlProblem as error:
        raise InputError(f"{what}: {error.problem}") from None


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML file whose top level is a mapping (an empty file reads as ``{}``).

    Raises
    ------
    InputError
        The file is missing or unreadable, is not valid YAML (the message names the line
        and column where it can), or its top level is not a mapping.
    """
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
        data = _parse_yaml(text)
    except _YamlProblem as error:
        raise InputError(f"{path}{error.at}: invalid YAML: {error.problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(
            f"{path}, line 1: the top level must be a mapping of settings (key: value), "
            f"got a {type(data).__name__}"
        )
    return data


#: keys only one kind of gradlab file has, to tell a file given to the wrong command
_FILE_KINDS = {
    "sweep": ("base_config", "grid"),  # a sweep's record, sweep.yaml
    "descend": ("f", "x0"),
    "experiment": ("data", "model"),
    # the config.yaml of a run of these commands records its options, not an experiment
    "gradcheck": ("gradcheck",),
    "landscape": ("landscape",),
    "compare": ("runs", "metric"),
    "plot": ("kind",),
}


def check_file_kind(values: Mapping[str, Any], path: str | os.PathLike, expected: str) -> None:
    """Refuse, in one line, a file of another kind than ``expected`` ("experiment" or "descend"):
    a sweep.yaml, a descend config or another run's record (plot, compare, gradcheck, landscape)
    given to ``gradlab train`` printed a dozen unknown-key lines that never named the file.
    """

    def has(kind: str) -> bool:
        return any(key in values for key in _FILE_KINDS[kind])

    if has(expected):
        return
    path = Path(path)
    article = "an" if expected == "experiment" else "a"
    if has("sweep"):
        beside = path.parent / "config.yaml"
        raise ConfigError(f"{path}: this is a sweep's record (sweep.yaml), not {article} {expected} config; "
                          f"the experiment it varies is {beside}")
    if expected == "experiment" and has("descend"):
        raise ConfigError(f"{path}: this is a gradlab descend config (f, x0), not an experiment; "
                          f"run it with 'gradlab descend --config {path}'")
    if expected == "descend" and has("experiment"):
        raise ConfigError(f"{path}: this is an experiment config (data, model), not a descend config; "
                          f"train it with 'gradlab train {path}'")
    for kind in ("gradcheck", "landscape", "compare", "plot"):
        if has(kind):
            where = "; the experiment it checked is under its 'experiment:' key" if kind == "gradcheck" else ""
            raise ConfigError(f"{path}: this is the record of a gradlab {kind} run, not {article} {expected} "
                              f"config{where}")


def validation_message(
    exc: ValidationError, prefix: str = "", sep: str = "\n", model: type[BaseModel] | None = None
) -> str:
    """Describe every error in ``exc`` as ``field.path: message (got value)``.

    Parameters
    ----------
    exc : pydantic.ValidationError
        From validating a gradlab model.
    prefix : str
        Put before each line, e.g. ``"run.yaml: "``.
    sep : str
        Between the lines; the CLI prints each line of a message as its own ``error:`` line.
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
            owner, key = _model_at(model, error["loc"][:-1]), str(error["loc"][-1])
            allowed = accepted_keys(owner)
            if key in allowed:  # a known key is extra only beside another spelling of it: lr and learning_rate
                from gradlab.overrides import synonyms

                others = " or ".join(n for n in synonyms(owner, [], key) if n != key)
                lines.append(f"{prefix}{where}: given together with {others}, its synonym; give one of them")
                continue
            listing = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
            lines.append(f"{prefix}{where}: unknown key{did_you_mean(key, allowed)}{listing}")
            continue
        message = error["msg"]
        if kind == "value_error":
            message = message.removeprefix("Value error, ")
        elif kind != "missing":
            message = f"{message[:1].lower()}{message[1:]} (got {error['input']!r})"
        named = where and (message.startswith(f"{where}:") or message.startswith(f"{where} "))
        lines.append(f"{prefix}{message}" if named or not where else f"{prefix}{where}: {message}")
    return sep.join(dict.fromkeys(lines))  # a union reports one failure per member: say it once


def _location(loc: tuple) -> str:
    """``("layers", 0, "units")`` -> ``layers[0].units``."""
    text = ""
    for part in loc:
        if isinstance(part, str) and (part in ("str", "int", "float", "bool", "none") or "[" in part):
            continue  # a union member's type name ("int", "literal['full']"): meaningless to a user
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


def accepted_keys(model: type[BaseModel] | None) -> list[str]:
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
        raise ConfigError(validation_message(error, prefix, model=model)) from None


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys: ``{"optimizer": {"lr": 0.1}}`` -> ``{"optimizer.lr": 0.1}``.

    Lists stay values (``model.hidden: [16, 16]``); an empty mapping stays as ``{}`` so
    that a key present in one config and absent in another is still seen.
    """
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat
