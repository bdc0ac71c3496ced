"""``gradlab explain``: one forward and backward pass printed layer by layer, with the numbers."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from gradlab.cli.common import CONFIG_OR_RUN, SetOption, examples, fmt, out, parse_number, whole_number_option

HELP = (
    "Backpropagation with real numbers: one forward and one backward pass of a config's network at its "
    "initial weights (or a training run's final weights), printed layer by layer as the chain rule "
    "z = x W + b, a = f(z), C, dC/dy_hat, f'(z), delta = dC/dz, dC/dW = x^T delta, and the update "
    "W_new = W - eta dC/dW. A config that standardises its data feeds the network z-scores "
    "x = (raw - mean) / std; the input lines then show the raw values, x, and the training set's mean and std.\n\n"
    + examples(
        "gradlab explain configs/cat_dog.yaml",
        "gradlab explain configs/saturation_ce.yaml      # the fused cross-entropy: sigma'(z) cancels",
        "gradlab explain configs/xor.yaml --sample 3 --units 3",
        "gradlab explain runs/<run> --batch               # a trained network, the whole training set",
        "gradlab explain configs/cat_dog.yaml --json",
    )
)

SHOWN_ROWS = 3  # samples shown per matrix with --batch


def register(app: typer.Typer) -> None:
    app.command("explain", help=HELP, short_help="One forward and backward pass, the chain rule with numbers.")(
        explain)


def explain(
    source: Annotated[Path, typer.Argument(metavar=CONFIG_OR_RUN, show_default=False,
                                           help="A YAML config (initial weights) or a training run directory "
                                                "(final weights).")],
    sample: Annotated[int, whole_number_option("--sample", help="Index of the training sample.")] = 0,
    batch: Annotated[bool, typer.Option("--batch", help="Use the whole training set (N = n_train) instead "
                                        "of one sample.")] = False,
    units: Annotated[int, whole_number_option("--units", help="Show at most this many units (and inputs) per "
                                              "layer.", min=1)] = 4,
    digits: Annotated[int, whole_number_option("--digits", help="Significant digits.", min=1, max=17)] = 4,
    lr: Annotated[Optional[float], typer.Option("--lr", parser=parse_number, help="Learning rate of the step shown. Default: the "
                                                "config's.", show_default=False)] = None,
    set_: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print every quantity as JSON instead (full arrays).")]
    = False,
) -> None:
    """One forward and backward pass, printed as the chain rule."""
    from gradlab.errors import InputError
    from gradlab.experiment import load_source
    from gradlab.explain import explain as compute
    from gradlab.overrides import parse_overrides

    if batch and sample != 0:
        raise InputError(f"--sample {sample} and --batch exclude each other: --batch uses every training sample")
    experiment, run_dir = load_source(source, parse_overrides(set_ or []))
    result = compute(experiment, sample=sample, batch=batch, lr=lr, weights="initial" if run_dir is None else "final")
    if as_json:
        import json

        from gradlab.runs import to_plain

        typer.echo(json.dumps(to_plain({"source": str(source), **result.to_dict()})))
        return
    render(result, _command_line(source, sample, batch, lr, set_ or []), experiment, units, digits)


def _command_line(source: Path, sample: int, batch: bool, lr: float | None, overrides: list[str]) -> str:
    """The header: ``gradlab explain SOURCE`` with the options that change the numbers shown."""
    import shlex

    args = ["gradlab", "explain", str(source), *(["--sample", str(sample)] if sample else []),
            *(["--batch"] if batch else []), *(["--lr", repr(lr)] if lr is not None else [])]
    return shlex.join(args + [part for item in overrides for part in ("--set", item)])


class _Printer:
    """Formats arrays as short bracketed lists, bounded by --units (and rows with --batch)."""

    def __init__(self, units: int, digits: int, rows: int) -> None:
        self.units, self.digits, self.rows = units, digits, rows

    def num(self, value: float) -> str:
        return fmt(value, self.digits)  # fmt prints -0.0 (a dead ReLU's delta) as 0

    def signed(self, value: float) -> str:
        """A factor in a written-out sum: negative numbers in parentheses."""
        text = self.num(value)
        return f"({text})" if text.startswith("-") else text

    def vec(self, values, limit: int | None = None) -> str:
        values = list(values)
        limit = self.units if limit is None else limit
        text = ", ".join(self.num(v) for v in values[:limit])
        more = len(values) - limit
        return f"[{text}{f', ... +{more} more' if more > 0 else ''}]"

    def rows_of(self, array, row_limit: int | None = None) -> str:
        """A batch-first array: one sample as a flat list, several as a list of rows."""
        array = _2d(array)
        if array.shape[0] == 1:
            return self.vec(array[0])
        row_limit = self.rows if row_limit is None else row_limit
        shown = ", ".join(self.vec(r) for r in array[:row_limit])
        more = array.shape[0] - row_limit
        return f"[{shown}{f', ... +{more} more rows' if more > 0 else ''}]"

    def matrix(self, array) -> str:
        """A weight matrix (n_in, n_out), rows = inputs, both bounded by --units."""
        return self.rows_of(array, self.units) if _2d(array).shape[0] > 1 else f"[{self.vec(_2d(array)[0])}]"


def _2d(array):
    import numpy as np

    array = np.asarray(array)
    return array.reshape(1, -1) if array.ndim == 1 else array


def render(result, command: str, experiment, units: int, digits: int) -> None:
    """Print an :class:`~gradlab.explain.Explanation` as the seed article's derivation."""
    from rich.text import Text

    p = _Printer(units, digits, SHOWN_ROWS)
    lines: list[tuple[str, str]] = []  # (text, style)

    def say(text: str = "", style: str = "") -> None:
        lines.append((text, style))

    def eq(label: str, value: str, width: int = 52) -> None:
        say(f"    {label:<{width}} = {value}")

    single = result.N == 1
    net = experiment.network
    sizes = " -> ".join(map(str, net.sizes))
    acts = ", ".join(layer.activation for layer in result.layers)
    which = (f"training sample {result.samples[0]} of {result.n_train} (N = 1)" if single
             else f"all {result.n_train} training samples (N = {result.N}"
                  + (f"; the first {SHOWN_ROWS} rows shown)" if result.N > SHOWN_ROWS else ")"))
    say(command, "bold")
    # the loss as train's panel spells it, huber(delta=0.8): its formula names delta, C depends on its value
    say(f"network {sizes} ({acts}), loss {experiment.loss!r}, {result.weights} weights; {which}")
    say()
    names = ", ".join(result.feature_names[:units]) + (", ..." if len(result.feature_names) > units else "")
    if result.standardized:
        # the config standardises its features: x holds z-scores, not the units the names promise
        say(f"input   raw = {p.rows_of(result.x_raw)}   ({names})")
        say(f"        x   = {p.rows_of(result.x)}   standardised, x = (raw - mean) / std: what the network sees")
        say(f"        mean = {p.vec(result.mean)}, std = {p.vec(result.std)}   (of the {result.n_train} training samples)")
    else:
        say(f"input   x = {p.rows_of(result.x)}   ({names})")
    target = ""
    if single and result.class_names and result.y.shape[1] == 1:
        target = f"   ({result.class_names[int(result.y[0, 0] > 0)]})"
    elif single and result.class_names and result.y.shape[1] > 1:
        target = f"   ({result.class_names[int(result.y[0].argmax())]})"
    say(f"target  y = {p.rows_of(result.y)}{target}")

    say()
    say("forward", "bold underline")
    for layer in result.layers:
        n_in, n_out = layer.W.shape
        say(f"  layer {layer.index}: {n_in} -> {n_out}, {layer.activation}{_hidden_units(n_out, units)}", "bold")
        eq("W", p.matrix(layer.W))
        eq("b", p.vec(layer.b))
        x_name = "" if layer.index == 1 else f"   (x = a{layer.index - 1})"
        if single:
            eq(f"z = x W + b{x_name}", p.rows_of(layer.z))
            if n_in <= units:
                for j in range(min(n_out, units)):
                    terms = " + ".join(f"{p.signed(layer.W[i, j])}*{p.signed(layer.x[0, i])}" for i in range(n_in))
                    say(f"      z_{j + 1} = {terms} + {p.signed(layer.b[j])} = {p.num(layer.z[0, j])}")
        else:
            eq(f"Z = X W + b{x_name.upper()}", p.rows_of(layer.z))
        eq(f"a = {layer.activation}(z):  {layer.formula}", p.rows_of(layer.a))
    k = result.output.index
    # a loss on logits reads z_L, but y_hat is still the output a_L = f(z_L) (what dC/dy_hat differentiates by)
    read = f"from the logits z of layer {k}, y_hat = {result.output.activation}(z)" if result.loss_on_logits \
        else f"y_hat = a of layer {k}"
    say(f"  loss    {result.loss_formula}", "bold")
    eq(f"C   ({read}, N = {result.N})", p.num(result.loss_value))

    say()
    say("backward (the chain rule, from the output down)", "bold underline")
    for layer in reversed(result.layers):
        kind = "output" if layer.is_output else "hidden"
        say(f"  layer {layer.index} ({kind}, {layer.activation})", "bold")
        softmax = layer.activation == "softmax"
        if layer.is_output:
            eq(layer.dC_da_formula, p.rows_of(layer.dC_da))
            if softmax:
                eq("dy_hat/dz: ds_i/dz_j = s_i (delta_ij - s_j), diagonal", p.rows_of(layer.f_prime))
            else:
                eq(f"dy_hat/dz = {_derivative(layer)}", p.rows_of(layer.f_prime))
            if layer.fused:
                product = "J^T dC/dy_hat" if softmax else "dC/dy_hat * dy_hat/dz"
                eq(f"delta = dC/dz = {product} = (y_hat - y) / N", p.rows_of(layer.delta))
                factor = "the softmax Jacobian" if softmax else f"the factor {_prime_name(layer)}"
                say(f"      {factor} cancelled: {result.loss_name} is fused with {layer.activation}, so "
                    f"backpropagation starts from (y_hat - y) / N directly", "green")
            else:
                product = "J^T dC/dy_hat (softmax Jacobian)" if softmax else "dC/dy_hat * dy_hat/dz"
                eq(f"delta = dC/dz = {product}", p.rows_of(layer.delta))
        else:
            above = layer.index + 1
            eq(f"dC/da = delta{above} W{above}^T", p.rows_of(layer.dC_da))
            if softmax:  # every s_i depends on every z_j: delta is the Jacobian's product, not a diagonal one
                eq("da/dz: ds_i/dz_j = s_i (delta_ij - s_j), diagonal", p.rows_of(layer.f_prime))
                eq("delta = dC/dz = J^T dC/da (softmax Jacobian)", p.rows_of(layer.delta))
            else:
                eq(f"da/dz = {_derivative(layer)}", p.rows_of(layer.f_prime))
                eq("delta = dC/dz = dC/da * da/dz", p.rows_of(layer.delta))
        below = "" if layer.index == 1 else f" = a{layer.index - 1}"
        eq(f"dz/dW = x{below}" if single else f"dz/dW = X{below.upper()}", p.rows_of(layer.x))
        eq("dC/dW = x^T delta" if single else "dC/dW = X^T delta", p.matrix(layer.dW))
        eq("dC/db = sum_n delta", p.vec(layer.db))

    say()
    say(f"update (plain gradient step w_new = w_old - eta dC/dw, eta = {p.num(result.lr)})", "bold underline")
    for layer in result.layers:
        k, eta = layer.index, p.num(result.lr)
        say(f"    W{k}_new = W{k} - eta dC/dW{k} = {p.matrix(layer.W)} - {eta} * {p.matrix(layer.dW)}")
        say(f"           = {p.matrix(layer.W_new)}")
        say(f"    b{k}_new = b{k} - eta dC/db{k} = {p.vec(layer.b)} - {eta} * {p.vec(layer.db)} = {p.vec(layer.b_new)}")
    for note in result.notes:
        say(f"note: {note}", "yellow")
    for text, style in lines:
        out.print(Text(text, style=style), soft_wrap=True)


def _hidden_units(n_out: int, units: int) -> str:
    return f" (first {units} of {n_out} units shown)" if n_out > units else ""


def _prime_name(layer) -> str:
    """sigma'(z) for sigmoid (the seeds' notation), f'(z) otherwise."""
    return layer.derivative_formula.split("=", 1)[0].strip() or "f'(z)"


def _derivative(layer) -> str:
    """The activation's derivative by name, e.g. ``sigma'(z) = sigma(z) (1 - sigma(z))``."""
    return layer.derivative_formula or f"{layer.activation}'(z)"
