"""The training experiment: its schema, its validation, and the engine objects built from it.

A config names ``name``, ``seed``, ``data``, ``model``, ``loss``, ``optimizer`` and
``training`` (see ``configs/*.yaml`` and ``gradlab schema``). Components (activations,
losses, optimizers, schedules, initialisers, datasets) are written as registry specs,
``"leaky_relu:alpha=0.1"`` or ``{name: leaky_relu, alpha: 0.1}``, and checked against
the same registries the engine uses, so the schema, the CLI and the docs cannot drift.

:func:`load_experiment` reports *every* problem at once, each with its dotted path, the
value and what is allowed; an unknown key gets a did-you-mean.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from gradlab.config import Bool, FiniteFloat, Int, as_written, check_file_kind, load_yaml, validate
from gradlab.engine._checks import beyond_dtype, dtype_problem, to_dtype
from gradlab.errors import ConfigError, InputError, in_file, path_exists

Spec = Union[str, dict[str, Any]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelConfig(_Strict):
    """The network: hidden widths, their activation(s), the output activation, initialisation, dtype."""

    hidden: list[Int] = Field(default_factory=list, description="hidden layer widths, from the input side",
                              json_schema_extra={"items": {"type": "integer", "minimum": 1}})
    activation: Union[Spec, list[Spec]] = Field("sigmoid", description="hidden activation, or one per hidden layer")
    output: Optional[Spec] = Field(None, description="output activation [default: chosen from the loss and task]")
    init: Spec = Field("xavier", description="initialiser spec")
    dtype: Literal["float64", "float32"] = "float64"

    @field_validator("hidden")
    @classmethod
    def _positive_widths(cls, widths: list[int]) -> list[int]:
        bad = [w for w in widths if w < 1]
        if bad:
            raise ValueError(f"every width must be >= 1, got {bad}")
        return widths

    def hidden_specs(self) -> list[Spec]:
        """One activation spec per hidden layer: the list as written, or the single spec repeated."""
        return list(self.activation) if isinstance(self.activation, list) else [self.activation] * len(self.hidden)

    def output_spec(self, loss, task: str) -> Spec:
        """The output activation: as written, else the loss's link (sigmoid for bce, softmax for
        cross_entropy), else the first output the loss allows (identity for the hinge losses),
        identity for regression, else sigmoid or softmax by task."""
        if self.output is not None:
            return self.output
        if loss.link is not None:
            return loss.link
        if loss.outputs is not None:
            return loss.outputs[0]
        if task == "regression":
            return "identity"
        return "sigmoid" if task == "binary" else "softmax"


class OptimizerConfig(BaseModel):
    """The optimizer spec plus its learning rate, schedule and clipping. Other keys are the
    optimizer's own parameters (momentum, beta1, ...), checked against its registry entry."""

    model_config = ConfigDict(extra="allow")

    name: str = "sgd"
    lr: Optional[FiniteFloat] = Field(None, gt=0, description="learning rate [default: the optimizer's own]")
    schedule: Spec = "constant"
    clip_norm: Optional[FiniteFloat] = Field(None, gt=0, description="clip the global gradient norm to this")


class TrainingConfig(_Strict):
    epochs: Int = Field(100, ge=1)
    batch_size: Union[Int, Literal["full"]] = Field(32, description="rows per update; 1 = online, full = batch",
                                                    json_schema_extra={"anyOf": [{"type": "integer", "minimum": 1},
                                                                                 {"const": "full", "type": "string"}]})
    shuffle: Bool = True
    log_every: Int = Field(1, ge=1)
    l1: FiniteFloat = Field(0.0, ge=0)
    l2: FiniteFloat = Field(0.0, ge=0)
    # the schema is spelled out: pydantic 2.5 left ge=1 out of an Optional's JSON schema
    patience: Optional[Int] = Field(None, ge=1, description="early stop after this many epochs without improvement",
                                    json_schema_extra={"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]})
    min_delta: FiniteFloat = Field(0.0, ge=0)

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch(cls, value: Any) -> Any:
        """One message for any wrong value (the union would give one per member: int, 'full')."""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if value == "full" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            return value
        raise ValueError(f"must be a whole number >= 1 or 'full', got {as_written(value)}")


def _run_name_pattern() -> str:
    from gradlab.runs import NAME_PATTERN

    return NAME_PATTERN


class ExperimentConfig(_Strict):
    """A complete training experiment."""

    name: Optional[str] = Field(None, json_schema_extra=lambda schema: schema.update(anyOf=[
        {"type": "string", "pattern": _run_name_pattern()}, {"type": "null"}]))
    seed: Int = Field(0, ge=0, description="drives the data generation, the initialisation and the shuffling")
    data: Spec
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: Spec = "mse"
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)

    @field_validator("name")
    @classmethod
    def _name(cls, value: Optional[str]) -> Optional[str]:
        """Checked here, so a bad name in the file is reported as ``name``, not as ``--name``."""
        from gradlab.runs import check_name

        return check_name(value, "name")

    @field_validator("optimizer", mode="before")
    @classmethod
    def _optimizer_short_form(cls, value: Any) -> Any:
        """``optimizer: adam`` or ``optimizer: "momentum:lr=0.5,momentum=0.9"``, like the other components."""
        if not isinstance(value, str):
            return value
        from gradlab.registry import split_spec

        try:
            name, params = split_spec(value, "optimizer")
        except InputError as error:
            raise ValueError(str(error).removeprefix("optimizer: ")) from None
        return {"name": name.strip(), **params}


@dataclass
class Experiment:
    """Everything needed to train: the validated config and the objects built from it."""

    config: ExperimentConfig
    resolved: dict[str, Any]
    dataset: Any
    network: Any
    loss: Any
    optimizer: Any
    schedule: Any
    settings: Any
    Y_train: np.ndarray
    Y_test: np.ndarray | None
    X_train: np.ndarray
    X_test: np.ndarray | None
    #: a run's parameters as its seeded initialisation made them (:meth:`Network.flat`'s layout, float64),
    #: kept by :func:`load_trained` before it puts the final weights in; None when built from a config
    initial: np.ndarray | None = None


def _collect(problems: list[str], field: str, build):
    """Run a builder, turning its InputError into a reported problem (None when it failed)."""
    try:
        return build()
    except InputError as error:
        message = str(error)
        problems.append(message if message.startswith(field) else f"{field}: {message}")
        return None
    except MemoryError as error:  # e.g. data.n_samples: 1e12; numpy says how much it wanted
        problems.append(f"{field}: more than this machine's memory: {error}")
        return None


def component_registries() -> dict[str, Any]:
    """The config keys whose values are registry specs, each with the registry that names them: the
    one table both the component checks and a sweep's look for two spellings of one value read."""
    from gradlab import datasets
    from gradlab.engine.activations import activations
    from gradlab.engine.init import initializers
    from gradlab.engine.losses import losses
    from gradlab.engine.optimizers import optimizers
    from gradlab.engine.schedules import schedules

    return {"data": datasets.datasets, "model.activation": activations, "model.output": activations,
            "model.init": initializers, "loss": losses, "optimizer": optimizers, "optimizer.schedule": schedules}


def component_identity(key: str, value: Any) -> tuple[str, Any] | None:
    """The component a value of the dotted ``key`` names, however it is spelt, and its kind.

    ``sigmoid`` and ``logistic`` (an alias) both give ``("activation", ("sigmoid", {}))``;
    ``"leaky_relu:alpha=0.10"`` and ``{name: leaky_relu, alpha: 0.1}`` both give
    ``("activation", ("leaky_relu", {"alpha": 0.1}))``, and ``leaky_relu`` the same as
    ``leaky_relu:alpha=0.01``: the canonical name and every parameter, defaults written out
    (:meth:`~gradlab.registry.Registry.identity`). ``model.activation`` may be a list, one spec per hidden layer; a ``KEY.name``
    (``optimizer.name``) gives the canonical name alone.

    Returns
    -------
    tuple or None
        None where ``key`` holds no component, or ``value`` names none (the build says why).
    """
    registries = component_registries()
    parent, _, last = key.rpartition(".")
    try:
        if key in registries:
            registry = registries[key]
            if key == "model.activation" and isinstance(value, list):
                return f"{registry.kind}s", [registry.identity(spec, key) for spec in value]
            return registry.kind, registry.identity(value, key)
        if last == "name" and parent in registries and isinstance(value, str):
            return registries[parent].kind, registries[parent].canonical(value.strip(), key)
    except InputError:
        return None
    return None


def _component_problems(raw: Any) -> list[str]:
    """The registry names and parameters in a raw config that failed validation, checked as far
    as its shape allows (values are checked once the structure is right)."""
    registries = component_registries()

    def part(mapping: Any, key: str) -> Any:
        return mapping.get(key) if isinstance(mapping, Mapping) else None

    model, optimizer = part(raw, "model"), part(raw, "optimizer")
    activation = part(model, "activation")
    specs = [("loss", part(raw, "loss")), ("model.output", part(model, "output")), ("model.init", part(model, "init")),
             ("optimizer.schedule", part(optimizer, "schedule")),
             ("optimizer", {"name": part(optimizer, "name")} if part(optimizer, "name") else None),
             *(("model.activation", a) for a in (activation if isinstance(activation, list) else [activation]))]
    problems: list[str] = []
    for field, spec in specs:
        if isinstance(spec, (str, Mapping)):
            _collect(problems, field, lambda: registries[field].parse(spec, field=field))
    data = part(raw, "data")
    name = data.partition(":")[0] if isinstance(data, str) else part(data, "name")
    if isinstance(name, str):
        _collect(problems, "data", lambda: registries["data"].canonical(name.strip(), "data"))
    return problems


def _build_optimizer(o: OptimizerConfig, problems: list[str]):
    """The optimizer of the config (None, with the problems appended, when it cannot be built).

    A parameter the optimizer does not take is reported under its own key, ``optimizer.lrr:
    adam has no parameter 'lrr' (did you mean 'lr'?)``: the key the user wrote in the file or
    with ``--set``, so a message about it can name that ``--set``.
    """
    from gradlab.engine.optimizers import optimizers

    params = {**({"lr": o.lr} if o.lr is not None else {}), **(o.model_extra or {})}
    if o.name in optimizers:
        unknown = [key for key in params if key not in optimizers.parameters(o.name)]
        for key in unknown:  # parsing a spec with only this key raises exactly its "no parameter" message
            field = f"optimizer.{key}"
            _collect(problems, field, lambda: optimizers.parse({"name": o.name, key: params[key]}, field=field))
        if unknown:
            return None
    return _collect(problems, "optimizer", lambda: _create_optimizer(o.name, params))


def _create_optimizer(name: str, params: dict[str, Any]):
    """The optimizer, a bad value reported under its key as data's are: ``optimizer.beta1 must be
    >= 0 and < 1, got 1.0`` (the engine's checks name the parameter alone)."""
    from gradlab.engine.optimizers import optimizers

    try:
        return optimizers.create({"name": name, **params}, field="optimizer")
    except InputError as error:
        message = str(error).removeprefix("optimizer: ")
        if any(message.startswith(f"{key} ") for key in params):
            raise InputError(f"optimizer.{message}") from None
        raise


def build(raw: Mapping[str, Any], base_dir: str | os.PathLike | None = None) -> Experiment:
    """Validate a raw config mapping and build the experiment; every problem in one ConfigError."""
    from gradlab import datasets
    from gradlab.engine.activations import activations
    from gradlab.engine.init import initializers
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network
    from gradlab.engine.optimizers import optimizers
    from gradlab.engine.schedules import schedules
    from gradlab.training import EVAL_CHUNK, Settings

    try:
        config = validate(ExperimentConfig, raw)
    except ConfigError as error:  # report the component names' problems too, not only the structure's
        structural = str(error).splitlines()
        named = {line.split(":", 1)[0] for line in structural}
        extra = [p for p in _component_problems(raw) if p.split(":", 1)[0] not in named]
        raise ConfigError("\n".join([*structural, *extra])) from None

    problems: list[str] = []
    m, o, t = config.model, config.optimizer, config.training
    loss = _collect(problems, "loss", lambda: losses.create(config.loss, field="loss"))
    hidden_specs = m.hidden_specs()
    if isinstance(m.activation, list) and len(m.activation) != len(m.hidden):
        problems.append(f"model.activation: {len(m.activation)} activations for {len(m.hidden)} hidden layers")
    hidden = [_collect(problems, "model.activation", lambda s=s: activations.create(s, field="model.activation"))
              for s in hidden_specs]
    if not hidden_specs and not isinstance(m.activation, list):  # unused without hidden layers, but checked
        _collect(problems, "model.activation", lambda: activations.create(m.activation, field="model.activation"))
    optimizer = _build_optimizer(o, problems)
    schedule = _collect(problems, "optimizer.schedule",
                        lambda: schedules.create(o.schedule, field="optimizer.schedule"))
    dataset = _collect(problems, "data", lambda: datasets.load(config.data, seed=config.seed, base_dir=base_dir))
    if dataset is not None and loss is not None:
        if loss.classification and dataset.task == "regression":
            regression = ", ".join(n for n, cls in losses.items() if not cls.classification)
            problems.append(f"loss: {loss.name} needs class labels, but the data are a regression problem "
                            f"(use one of {regression})")
    output = None
    if loss is not None and dataset is not None:
        out_spec = m.output_spec(loss, dataset.task)
        output = _collect(problems, "model.output", lambda: activations.create(out_spec, field="model.output"))
        if output is not None:
            _collect(problems, "model.output", lambda: loss.check_output(output.name))
    if output is not None and output.name == "softmax" and dataset.task == "regression" and dataset.n_outputs == 1:
        problems.append("model.output: softmax over a single output is always 1 and learns nothing; "
                        "use identity (or sigmoid for targets in (0, 1))")
    if getattr(optimizer, "scipy_method", None):
        if t.batch_size != "full":
            problems.append(f"training.batch_size: optimizer {optimizer.name} minimises the full batch by line "
                            f"searches; set training.batch_size: full, got {t.batch_size!r}")
        # a line search picks every step itself: a schedule or clipping would be silently ignored
        if schedule is not None and schedule.name != "constant":
            problems.append(f"optimizer.schedule: {optimizer.name} chooses each step by a line search, so a "
                            f"learning-rate schedule does not apply; remove it (got {schedule.name})")
        if o.clip_norm is not None:
            problems.append(f"optimizer.clip_norm: {optimizer.name} chooses each step by a line search, so "
                            f"gradient clipping does not apply; remove it (got {o.clip_norm:g})")
    if problems:
        raise ConfigError("\n".join(problems))

    dtype = np.dtype(m.dtype)
    for field, component in [("loss", loss), *(("model.activation", a) for a in hidden), ("model.output", output)]:
        for message in _parameter_problems(field, component, dtype):
            if message not in problems:  # once, however many layers use it
                problems.append(message)
    problems.extend(_eps_problems(optimizer, dtype))
    n_out = dataset.n_outputs
    if dataset.task == "binary" and (loss.per_class or output.name == "softmax"):
        n_out = 2  # two classes as two units with one-hot targets: a one-unit softmax would always be 1
    sizes = [dataset.n_features, *m.hidden, n_out]
    rows = len(dataset.X_train) if t.batch_size == "full" else min(t.batch_size, len(dataset.X_train))
    _collect(problems, "model.hidden", lambda: _check_memory(sizes, max(rows, min(len(dataset.X_train), EVAL_CHUNK)),
                                                             dtype))
    one_hot = n_out == 2 and dataset.task == "binary"
    arrays = _collect(problems, "data", lambda: _data_in_dtype(dataset, one_hot, dtype))
    rng = np.random.default_rng(config.seed)
    weights = None if problems else _collect(problems, "model.init",
                                             lambda: _initializer(m.init, base_dir)(sizes, rng, dtype=dtype))
    if problems:
        raise ConfigError("\n".join(problems))
    network = Network.from_weights(weights, hidden, output)
    X_train, X_test, Y_train, Y_test = arrays

    settings = Settings(
        epochs=t.epochs,
        batch_size=None if t.batch_size == "full" else t.batch_size,
        shuffle=t.shuffle,
        log_every=t.log_every,
        lr=optimizer.lr,
        schedule=None if schedule.name == "constant" else schedule,
        l1=t.l1,
        l2=t.l2,
        clip_norm=o.clip_norm,
        patience=t.patience,
        min_delta=t.min_delta,
        task=dataset.task,
    )
    resolved = resolved_config(config, output.name if m.output is None else m.output, optimizer.lr)
    resolved["data"] = dataset.spec  # every data parameter, the data seed used, absolute paths
    if initializers.parse(m.init, field="model.init")[0] == "from":  # re-runnable from anywhere: an absolute path
        weights = _initializer(m.init, base_dir).resolved_path.resolve()
        resolved["model"]["init"] = {"name": "from", "path": str(weights)}
    return Experiment(config, resolved, dataset, network, loss, optimizer, schedule, settings,
                      Y_train, Y_test, X_train, X_test)


def _data_in_dtype(dataset, one_hot: bool, dtype: np.dtype) -> tuple[np.ndarray, ...]:
    """``X_train, X_test, Y_train, Y_test`` in the network's dtype (``X_test, Y_test`` None without a test set).

    Raises
    ------
    InputError
        A feature (as standardised, if it is) or a regression target does not fit ``dtype``
        (1e39 in float32): it would train on inf. The message names the column and the value.
    """
    def features(X: np.ndarray) -> np.ndarray:
        return _fitting(X, dataset.feature_names, "feature", dtype, dataset)

    def targets(y: np.ndarray) -> np.ndarray:
        if dataset.task == "regression":
            return _fitting(y, dataset.target_names, "target", dtype)
        return dataset.targets(y, one_hot=one_hot, dtype=dtype)  # class indices: 0 and 1 fit any dtype

    if len(dataset.X_test) == 0:
        return features(dataset.X_train), None, targets(dataset.y_train), None
    return features(dataset.X_train), features(dataset.X_test), targets(dataset.y_train), targets(dataset.y_test)


def _fitting(values: np.ndarray, names: list[str], kind: str, dtype: np.dtype, dataset=None) -> np.ndarray:
    """``values`` (columns named ``names``) cast to ``dtype``, refused naming the first that does not fit;
    ``dataset``: the values are its standardised features, reported in the file's units."""
    cast, misfits = to_dtype(values, dtype)
    if misfits is None:
        return cast
    row, column = np.argwhere(misfits)[0]
    value = float(values[row, column])
    if dataset is None or not dataset.standardized:
        hint = " or data.standardize: true" if kind == "feature" else ""
        raise InputError(f"{kind} {names[column]!r} holds {value:g}, {beyond_dtype(dtype)}; use model.dtype: "
                         f"float64{hint}")
    mean, std = float(dataset.mean[column]), float(dataset.std[column])
    raise InputError(f"{kind} {names[column]!r} holds {value * std + mean:g}, which standardises (mean {mean:.4g}, "
                     f"std {std:.4g}) to {value:g}, {beyond_dtype(dtype)}; use model.dtype: float64")


def _parameter_problems(field: str, component, dtype: np.dtype) -> list[str]:
    """The parameters of a registered loss or activation that ``dtype`` cannot hold as given
    (:func:`~gradlab.engine._checks.dtype_problem`): ``loss: smooth_l1 beta = 1e-300 rounds to 0
    in float32; ...``. A parameter is an instance attribute, as the registry's classes keep them."""
    return [f"{field}: {component.name} {problem}" for key, value in vars(component).items()
            if (problem := dtype_problem(key, value, dtype)) is not None]


def _eps_problems(optimizer, dtype: np.dtype) -> list[str]:
    """An eps the optimizer adds to a square root that ``dtype`` cannot keep it above (see
    ``Optimizer.smallest_eps``): a gradient whose square underflows there steps by lr |g| / eps."""
    from gradlab.engine.optimizers import Optimizer

    problem = optimizer.eps_problem(dtype) if isinstance(optimizer, Optimizer) else None  # not cg, lbfgs
    if problem is None:
        return []
    wider = " or model.dtype: float64" if dtype != np.float64 else ""
    return [f"optimizer.eps: {problem}{wider}"]


def _check_memory(sizes: list[int], rows: int, dtype: np.dtype) -> None:
    """Refuse a network that cannot train in this machine's memory, before anything is allocated.

    Training holds about ``4 P`` numbers for P parameters (weights, gradients and up to two
    optimizer buffers) and ``3 R U`` for R rows of a batch (or an evaluation chunk) through U
    units (pre-activations, activations and deltas). Without this check a 2-100000000-1 network
    failed with a MemoryError in the middle of its run.
    """
    from gradlab.machine import physical_memory

    memory = physical_memory()
    if memory is None:  # the system does not say: let the allocation decide
        return
    params = sum((n_in + 1) * n_out for n_in, n_out in zip(sizes, sizes[1:]))
    need = dtype.itemsize * (4 * params + 3 * rows * sum(sizes[1:]))
    if need > memory:
        raise InputError(f"a {' -> '.join(map(str, sizes))} network needs about {need / 2**30:.3g} GiB to train "
                         f"({params:.3g} parameters, {rows} rows at a time), more than this machine's "
                         f"{memory / 2**30:.3g} GiB")


def _initializer(spec: Spec, base_dir):
    """The initialiser; a relative ``from`` path is read next to the config file."""
    from gradlab.engine.init import initializers

    initializer = initializers.create(spec, field="model.init")
    if initializer.name == "from" and base_dir is not None:
        initializer.relative_to(base_dir)
    return initializer


def resolved_config(config: ExperimentConfig, output: Spec, lr: float | None) -> dict[str, Any]:
    """The config with every default filled in: what ``config.yaml`` records and ``rerun`` reads.

    A component's own parameters stay as given (``optimizer: {name: adam, lr: 0.01}``), not spelt out
    (:func:`with_component_defaults`, which ``compare`` applies): a saved config re-run with
    ``--set optimizer.name=sgd`` would carry Adam's betas over to sgd, which has none, and be refused.
    """
    resolved = config.model_dump(mode="json", exclude_none=False)
    resolved["model"]["output"] = output
    if lr is None:
        resolved["optimizer"].pop("lr", None)
    else:
        resolved["optimizer"]["lr"] = lr
    return resolved


#: the component specs of a config besides ``data`` (whose source writes its own parameters) and
#: ``optimizer`` (whose parameters sit beside its name, lr and schedule)
_SPEC_KEYS = ("model.activation", "model.output", "model.init", "loss", "optimizer.schedule")


def with_component_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    """A training config with each component written out: its canonical name and every parameter,
    those left at their defaults included, read off the registry's signatures.

    ``loss: huber`` becomes ``{name: huber, delta: 1.0}``; ``optimizer: {name: adam, lr: 0.01}``
    gains ``beta1``, ``beta2`` and ``eps``; a component without parameters stays a name
    (``sigmoid``). So ``gradlab compare`` of an sgd and an adam run shows Adam's betas, and an adam
    run that set its betas to their defaults compares equal to one that left them out. A spec that
    names no component is left as written (building the experiment says why).
    """
    from gradlab.engine.optimizers import optimizers

    written = {key: dict(value) if isinstance(value, Mapping) else value for key, value in config.items()}
    for key in _SPEC_KEYS:
        section, _, field = key.rpartition(".")
        holder = written.get(section) if section else written
        if isinstance(holder, dict) and holder.get(field) is not None:
            holder[field] = _spelt_out(key, holder[field])
    optimizer = written.get("optimizer")
    if isinstance(optimizer, dict) and isinstance(optimizer.get("name"), str):
        own = {k: v for k, v in optimizer.items() if k not in OptimizerConfig.model_fields}
        try:
            name, params = optimizers.identity({"name": optimizer["name"], **own}, field="optimizer")
        except InputError:
            return written
        params.pop("lr", None)  # the learning rate used is the config's own key (absent for a line search)
        written["optimizer"] = {**optimizer, "name": name, **params}
    return written


def _spelt_out(key: str, spec: Any) -> Any:
    """One component spec (or a list of them, for ``model.activation``) as :func:`with_component_defaults`
    writes it."""
    found = component_identity(key, spec)
    if found is None:
        return spec

    def one(name: str, params: dict[str, Any]) -> Spec:
        return {"name": name, **params} if params else name

    identity = found[1]
    return [one(*each) for each in identity] if isinstance(identity, list) else one(*identity)


def config_values(path: Path, overrides: Mapping[str, Any], swept: Iterable[str] = ()) -> dict[str, Any]:
    """A config file's values with the ``--set`` overrides applied, not yet validated.

    An empty file is refused when neither ``overrides`` nor the keys a sweep's grid sets
    (``swept``) give the one required field, ``data``: "data: Field required" alone would
    not say that the file has nothing in it.
    """
    from gradlab.overrides import apply_overrides

    values = load_yaml(path)
    if not values and not any(key.split(".")[0] == "data" for key in (*overrides, *swept)):
        raise ConfigError(f"{path}: the config is empty; it needs at least 'data:' (examples in configs/, "
                          "every field in 'gradlab schema')")
    if values:
        check_file_kind(values, path, "experiment")
    return apply_overrides(values, overrides, model=ExperimentConfig)


def load_experiment(path: str | os.PathLike, overrides: Mapping[str, Any] | None = None) -> Experiment:
    """Read a YAML config (with ``--set`` overrides applied) and build the experiment."""
    from gradlab.overrides import name_overrides

    path = Path(path)
    raw = config_values(path, overrides or {})
    try:
        return build(raw, base_dir=path.parent)
    except ConfigError as error:
        raise ConfigError(name_overrides(str(error), overrides or {}, ExperimentConfig)) from None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a config file, for editor completion (``gradlab schema``).

    Component fields list the registries' names, so an editor offers exactly what the
    engine accepts: ``"sigmoid"`` or ``{"name": "leaky_relu", "alpha": 0.1}``.
    """
    from gradlab.catalog import load

    schema = ExperimentConfig.model_json_schema()
    defs = schema["$defs"]

    def choices_of(kind: str, shared: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """A name (offered for completion), ``name:key=value,...``, or ``{name: ..., key: value}``:
        one mapping per component, listing its parameters (and the ``shared`` ones) with their
        defaults, so that an editor completes them and flags a misspelt key."""
        import re

        registry = load(kind)
        names = registry.names(aliases=True)
        with_params = "^(" + "|".join(map(re.escape, names)) + "):.+$"
        mappings = [_mapping_schema(name, cls, {**registry.parameters(name), **(shared or {})})
                    for name, cls in registry.items()]
        return [{"type": "string", "enum": names}, {"type": "string", "pattern": with_params}, *mappings]

    def spec(kind: str, node: dict[str, Any], shared: Mapping[str, Any] | None = None) -> None:
        choices = choices_of(kind, shared)
        keep = {k: v for k, v in node.items() if k not in ("anyOf", "type")}
        node.clear()
        node.update(keep, anyOf=choices)

    from gradlab.datasets import SPLIT_KEYS

    spec("datasets", schema["properties"]["data"], SPLIT_KEYS)
    spec("losses", schema["properties"]["loss"])
    model = defs["ModelConfig"]["properties"]
    spec("activations", model["output"])
    model["output"]["anyOf"].append({"type": "null"})
    spec("initializers", model["init"])
    single = {}
    spec("activations", single)
    model["activation"] = {**{k: v for k, v in model["activation"].items() if k not in ("anyOf", "type")},
                           "anyOf": [*single["anyOf"], {"type": "array", "items": {"anyOf": single["anyOf"]}}]}
    # the optimizer: the short form 'adam' / 'adam:lr=0.01', or one mapping per optimizer with the
    # settings of OptimizerConfig that apply to it (a line-search one takes no lr, schedule or
    # clip_norm) and its own parameters; without a name the mapping is sgd's
    shared = defs.pop("OptimizerConfig")["properties"]
    spec("schedules", shared["schedule"])
    registry = load("optimizers")
    mappings = []
    for name, cls in registry.items():
        params = registry.parameters(name)
        steps = {key: shared[key] for key in ("lr", "schedule", "clip_norm")} if "lr" in params else {}
        mappings.append(_mapping_schema(name, cls, {k: v for k, v in params.items() if k != "lr"}, steps,
                                        named=name != OptimizerConfig.model_fields["name"].default))
    optimizer = schema["properties"]["optimizer"]
    optimizer.pop("$ref")
    schema["properties"]["optimizer"] = {"anyOf": [*choices_of("optimizers")[:2], *mappings], **optimizer}
    return _json_bounds(schema)


def _mapping_schema(name: str, cls: type, params: Mapping[str, Any], fixed: Mapping[str, Any] | None = None,
                    named: bool = True) -> dict[str, Any]:
    """One component's mapping form in JSON Schema: its name (or an alias), the ``fixed``
    property schemas, and its ``params`` typed by their defaults; any other key is refused.
    ``named=False`` when the name may be left out (it has a default)."""
    return {
        "type": "object", "additionalProperties": False,
        "properties": {"name": {"enum": [name, *getattr(cls, "aliases", ())]}, **(fixed or {}),
                       **{key: _json_value(default) for key, default in params.items()}},
        "required": [*(["name"] if named else []),
                     *(key for key, default in params.items() if default is inspect.Parameter.empty)],
    }


def _json_value(default: Any) -> dict[str, Any]:
    """A component parameter in JSON Schema: its type and default, read off the default (a
    parameter defaulting to None, or required, takes any value; the engine checks it)."""
    if default is inspect.Parameter.empty or default is None:
        return {}
    kind = {bool: "boolean", int: "integer", float: "number", str: "string"}.get(type(default))
    return {"type": kind, "default": default} if kind else {}


_BOUND_KEYWORDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}


def _json_bounds(node: Any) -> Any:
    """Bounds in JSON Schema's words. Inside ``Optional[...]`` of a type with a before-validator
    (Int, Float) pydantic leaves its own ``gt``/``ge`` keys, which editors do not know."""
    if isinstance(node, dict):
        return {_BOUND_KEYWORDS.get(k, k) if isinstance(v, (int, float)) else k: _json_bounds(v)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_json_bounds(v) for v in node]
    return node


def load_trained(run_dir: str | os.PathLike) -> Experiment:
    """Rebuild a finished training run: its experiment from ``config.yaml`` with the final
    weights from ``model.npz`` put in place (data regenerated or reloaded the same way)."""
    from gradlab.runs import CONFIG_FILE, MODEL_FILE, read_config, resolve_run

    run_dir = resolve_run(run_dir)
    model_file = run_dir / MODEL_FILE
    if not model_file.exists():  # before the config: a gradcheck or descend run's config is no experiment
        raise InputError(f"{run_dir}: no model.npz, so no trained network ({_run_kind(run_dir)}); give a config "
                         f"file or a training run directory (gradlab train, or gradlab landscape on a config)")
    try:
        experiment = build(read_config(run_dir), base_dir=run_dir)
    except InputError as error:  # 'gradlab explain RUN' never names the file: the message must
        raise in_file(error, run_dir / CONFIG_FILE) from None
    weights = read_weights(model_file, experiment.config.model.dtype)
    layers = experiment.network.layers
    shapes = [(W.shape, b.shape) for W, b in weights]
    if shapes != [(layer.W.shape, layer.b.shape) for layer in layers]:
        raise InputError(f"{model_file}: layer shapes {[W for W, _ in shapes]} do not fit {experiment.network!r}")
    experiment.initial = experiment.network.flat().astype(np.float64)  # a landscape's interpolation starts there
    for layer, (W, b) in zip(layers, weights):
        layer.W[...], layer.b[...] = W, b
    return experiment


def read_weights(path: Path, dtype: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(W1, b1), (W2, b2), ...]`` from a run's ``model.npz``, checked to chain into one network
    and to be in ``dtype``, the ``model.dtype`` of the run's config (training saves them so: float16
    weights, or float32 ones beside a float64 config, were edited by hand)."""
    from gradlab.engine.init import FromFile
    from gradlab.runs import CONFIG_FILE

    reader = FromFile(str(path))
    reader.field = str(path.parent)  # its errors name the run: "<run>: cannot read '.../model.npz' as .npz: ..."
    saved = reader.read()
    n_layers = sum(1 for key in saved if key.startswith("W"))
    if n_layers == 0:
        raise InputError(f"{path}: holds no weights (expected W1, b1, W2, b2, ...)")
    weights: list[tuple[np.ndarray, np.ndarray]] = []
    for k in range(1, n_layers + 1):
        W, b = saved.get(f"W{k}"), saved.get(f"b{k}")
        if W is None or b is None:
            raise InputError(f"{path}: {'W' if W is None else 'b'}{k} is missing; a model file holds W1, b1, ... "
                             f"for each of its {n_layers} layers")
        if W.dtype.kind != "f" or b.dtype.kind != "f" or W.dtype != b.dtype:
            raise InputError(f"{path}: W{k} and b{k} must hold floats of one dtype, got {W.dtype} and {b.dtype}")
        if W.dtype != dtype:
            raise InputError(f"{path}: W{k} and b{k} hold {W.dtype}, but model.dtype in the run's {CONFIG_FILE} is "
                             f"{dtype}; training saves the weights in the dtype it trained in")
        n_in = W.shape[0] if not weights else weights[-1][0].shape[1]
        if W.ndim != 2 or W.shape[0] != n_in or b.shape != (W.shape[1],):
            raise InputError(f"{path}: W{k} of shape {W.shape} and b{k} of shape {b.shape} do not make a layer "
                             f"with {n_in} inputs (W{k} must be ({n_in}, n_out) and b{k} (n_out,))")
        weights.append((W, b))
    return weights


def _run_kind(run_dir: Path) -> str:
    """'a gradcheck run' from the summary's command, or why the run has no model."""
    command = _summary_if_readable(run_dir).get("command")
    return f"a {command} run" if command and command != "train" else "the run did not finish writing its model"


def _summary_if_readable(run_dir: Path) -> dict[str, Any]:
    """The run's summary.json, or {} when it cannot be read: it only adds detail to a message about
    the run, which must not fail in its place."""
    from gradlab.runs import read_summary

    try:
        return read_summary(run_dir)
    except InputError:
        return {}


def load_source(source: str | os.PathLike, overrides: Mapping[str, Any] | None = None) -> tuple[Experiment, Path | None]:
    """A YAML config (the network at its initial weights) or a training run (its final weights).

    Parameters
    ----------
    source : path
        A config file, or a run directory (a path, or a run id under the runs root).
    overrides : mapping, optional
        ``--set`` overrides; only for a config file.

    Returns
    -------
    (Experiment, Path or None)
        The experiment and the run directory it came from (None for a config file).
    """
    from gradlab.runs import resolve_run

    path = Path(source)
    if path_exists(path, "CONFIG|RUN_DIR") and path.is_file():
        return load_experiment(path, overrides), None
    if path.suffix.lower() in (".yaml", ".yml"):
        raise InputError(f"{source}: no such config file")
    run_dir = resolve_run(path)  # its message says whether no run or several runs match
    if overrides:
        raise InputError(f"--set changes a config file, not the run {run_dir.name} (it was trained as it is)")
    from gradlab.inference import require_finite_outputs

    experiment = load_trained(run_dir)
    require_finite_weights(experiment.network, run_dir)
    # finite weights near float64's limit (a tampered model.npz) still overflow the output: explain printed
    # C = inf (exit 0), landscape met LAPACK's complaints and an internal error
    require_finite_outputs(experiment.network, experiment.X_train, run_dir)
    return experiment, run_dir


def require_finite_weights(network, run_dir: Path) -> None:
    """Raise InputError when a run's final weights hold nan or inf (a diverged run): there is no
    forward pass, prediction, gradient or loss surface to show around them."""
    for k, layer in enumerate(network.layers, start=1):
        for name, value in ((f"W{k}", layer.W), (f"b{k}", layer.b)):
            if not np.all(np.isfinite(value)):
                summary = _summary_if_readable(run_dir)
                status, reason = summary.get("status", "unknown"), summary.get("stop_reason", "no reason recorded")
                raise InputError(f"{run_dir}: the run's final weights are not finite ({name} holds "
                                 f"{value[~np.isfinite(value)].flat[0]}) (status {status}: {reason}); use a run "
                                 f"that did not diverge, or its config with a smaller learning rate")
