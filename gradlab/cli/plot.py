"""``gradlab plot``: see an activation and its derivative, how a numerical derivative goes
wrong, and how losses push a wrong output. The numbers come from :mod:`gradlab.curves`,
the pictures from :mod:`gradlab.plots.functions`."""

import shlex
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from gradlab.cli.common import (NameOption, OutOption, check_output_file, err, examples, fmt, named_if_stopped, out,
                                parse_number, saved, show_table, titled_table, whole_number_option)
from gradlab.errors import InputError

LOSS_WORDS = ("loss", "losses")
DEFAULT_LOSSES = ("mse", "bce")

HELP = (
    "Plot activations (and their derivatives) or losses, with the facts that matter.\n\n"
    "Writes a PNG and a CSV of the plotted numbers into a run directory (or to --output). "
    "[bold]gradlab plot loss NAME...[/bold] plots losses against the prediction and dC/dz "
    "through a sigmoid output; softmax is drawn as softmax(\\[z, 0])_0, which equals sigmoid(z).\n\n"
    + examples(
        "gradlab plot sigmoid --derivative",
        "gradlab plot sigmoid tanh relu --derivative --range -6 6",
        "gradlab plot leaky_relu:alpha=0.1 --derivative",
        "gradlab plot sigmoid --numeric 1e-13",
        "gradlab plot sigmoid --step-study",
        "gradlab plot loss mse bce --target 1 --derivative",
        "gradlab plot tanh --output tanh.png --show",
    )
)


def register(app: typer.Typer) -> None:
    app.command("plot", help=HELP)(plot)


def plot(
    names: Annotated[list[str], typer.Argument(
        metavar="NAME", show_default=False,
        help="Activations (sigmoid, leaky_relu:alpha=0.1, ...; see 'gradlab list'), or 'loss' followed by "
             "losses (default: mse bce).")],
    derivative: Annotated[bool, typer.Option("--derivative", "-d", help="Also draw the derivative (the gradient for losses).")] = False,
    range_: Annotated[Optional[tuple[float, float]], typer.Option(
        "--range", metavar="A B", show_default=False, parser=parse_number,
        help="The x range \\[default: -10 10; for regression losses alone: target-3 target+3].")] = None,
    points: Annotated[int, whole_number_option("--points", metavar="N",
                                               help="Number of grid points, 2 to 1,000,000.")] = 1000,
    numeric: Annotated[Optional[float], typer.Option(
        "--numeric", metavar="STEP", show_default=False, parser=parse_number,
        help="Overlay forward and central differences with step STEP and report their errors.")] = None,
    step_study: Annotated[bool, typer.Option(
        "--step-study", help="Add a log-log plot of the finite-difference error against the step h.")] = False,
    target: Annotated[Optional[float], typer.Option(
        "--target", metavar="T", show_default=False, parser=parse_number,
        help="The target of a loss plot \\[default: 1].")] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE.png", show_default=False,
        help="Write the PNG (and a CSV of the same stem) here instead of a run directory.")] = None,
    show: Annotated[bool, typer.Option("--show", help="Open the figure in a window if a display is available.")] = False,
    out_root: OutOption = None,
    name: NameOption = None,
) -> None:
    from gradlab import curves
    from gradlab.runs import check_root

    losses_mode = names[0] in LOSS_WORDS
    derivative = derivative or numeric is not None  # differences are judged against the exact derivative
    _check_options(losses_mode, output, out_root, name, numeric, step_study, target)
    if output is None:
        check_root(out_root)
    if losses_mode:  # the default range depends on the losses: logits, or y_hat around the target
        lo, hi = range_ if range_ is not None else (None, None)
        chosen = curves.resolve_losses(names[1:] or list(DEFAULT_LOSSES), 1.0 if target is None else target)
        study = curves.study_losses(chosen, lo, hi, points, derivative=derivative)
    else:
        lo, hi = range_ if range_ is not None else curves.DEFAULT_RANGE
        study = curves.study_activations(curves.resolve_curves(names), lo, hi, points, derivative=derivative,
                                         numeric=numeric, step_study=step_study)
    config = _config(study, losses_mode, derivative, numeric, step_study)
    if losses_mode:
        _render_losses(study)
    else:
        _render_activations(study)
    if output is not None:
        # the first figure takes the given name, any other one (the step study) adds its own
        pngs = [output] + [output.with_name(f"{output.stem}_{chart.name}.png") for chart in study.charts[1:]]
        try:
            paths = _write(study.charts, pngs)
        except OSError as error:
            raise InputError(f"--output: cannot write {str(output)!r}: {error.strerror}") from None
        out.print(f"[dim]wrote[/dim] {escape(', '.join(str(p) for p in paths))}", soft_wrap=True)
    else:
        from gradlab.runs import Run

        with named_if_stopped(Run.create("plot", config, name=name, out=out_root,
                                         reproduce=_command_line(config))) as run:
            paths = _write(study.charts, [run.file(f"{chart.name}.png") for chart in study.charts])
            run.finish("completed", **study.summary(), files=[p.name for p in paths])
        saved(run.path)
    if show:
        _show([p for p in paths if p.suffix == ".png"])


def _check_options(losses_mode, output, out_root, name, numeric, step_study, target) -> None:
    """Refuse option combinations that cannot mean anything, before any work is done."""
    if losses_mode and (numeric is not None or step_study):
        raise InputError("--numeric and --step-study apply to activations, not to 'gradlab plot loss'")
    if not losses_mode and target is not None:
        raise InputError("--target applies to loss plots: gradlab plot loss mse bce --target 1")
    if output is not None:
        check_output_file(output, ".png")
        if out_root is not None or name is not None:
            raise InputError("--output writes no run directory: --out and --name do not apply")


def _write(charts, pngs: list[Path]) -> list[Path]:
    """Draw each chart to its PNG with the plotted columns beside it as CSV; the paths written."""
    from gradlab.plots import save, write_columns
    from gradlab.plots.functions import draw

    paths: list[Path] = []
    for chart, png in zip(charts, pngs):
        paths.append(save(draw(chart), png))
        paths.append(write_columns(png.with_suffix(".csv"), chart.columns))
    return paths


def _show(pngs: list[Path]) -> None:
    from gradlab.plots import display_available, show

    where = f"the figure is saved at {pngs[0]}" if len(pngs) == 1 else f"the figures are saved at {', '.join(map(str, pngs))}"
    if not display_available():
        err.print(f"no display available (neither DISPLAY nor WAYLAND_DISPLAY is set), so no window opened; {where}",
                  markup=False, soft_wrap=True)  # what --show could not do: stderr; paths unbroken, to copy
    elif not show(pngs):
        err.print(f"cannot open a window (matplotlib's backend is non-interactive); {where}", markup=False,
                  soft_wrap=True)


def _config(study, losses_mode: bool, derivative: bool, numeric, step_study: bool) -> dict[str, Any]:
    """The resolved settings: enough to draw the same figure again."""
    lo, hi, points = study.grid
    if losses_mode:
        return {"kind": "losses", "losses": [c.spec for c in study.losses], "target": study.target,
                "range": [lo, hi], "points": points, "derivative": derivative,
                "x_axis": "p = sigmoid(z)" if study.through_sigmoid else "y_hat"}
    return {"kind": "activations", "activations": [c.spec for c in study.curves], "range": [lo, hi],
            "points": points, "derivative": derivative, "numeric": numeric, "step_study": step_study}


def _command_line(config: dict[str, Any]) -> str:
    """``gradlab plot ...`` that draws the figure again, from the resolved settings."""
    losses = config["kind"] == "losses"
    args = ["gradlab", "plot", *(["loss", *config["losses"]] if losses else config["activations"])]
    args += ["--range", repr(config["range"][0]), repr(config["range"][1]), "--points", str(config["points"])]
    if config["derivative"]:
        args.append("--derivative")
    if losses:
        args += ["--target", repr(config["target"])]
    else:
        args += ["--numeric", repr(config["numeric"])] if config["numeric"] is not None else []
        args += ["--step-study"] if config["step_study"] else []
    return shlex.join(args)


# --------------------------------------------------------------------------- rendering


def _table(data) -> Table:
    """A rich table from a :class:`gradlab.curves.Table`: short numbers, right-aligned, never cut short."""
    table = titled_table(data.title)
    for column in data.header:
        table.add_column(_cell(column), justify="right", overflow="fold")
    for row in data.rows:
        table.add_row(*map(_cell, row))
    return table


def _cell(value: Any) -> str:
    # 5 digits and "e-5" rather than "e-05": seven sample columns stay narrow
    if isinstance(value, float):
        return fmt(value, 5).replace("e-0", "e-").replace("e+0", "e+")
    return escape(str(value))


def _seen(value: float) -> str:
    """A value seen on the grid, in all its digits where six would round it to a whole number it is not:
    tanh(10) = 0.9999999958776927, not 1, beside tanh's open range (-1, 1)."""
    text = fmt(value)
    rounded = float(text)
    return fmt(value, 17) if rounded != value and rounded.is_integer() else text


def _where(f) -> str:
    """Where f' peaks, from the facts: 'at z = 0', 'for z > 0', 'for -3 < z < 3', 'everywhere on the
    range'; an end at the edge of the plotted range is no end of the interval, only of the picture."""
    from gradlab.curves import OPEN, RANGE_END

    (a, b), (low, high) = f.peak_at, f.peak_ends
    if a == b:
        return f"at z = {fmt(a, 4)}" + (", the end of the range" if RANGE_END in (low, high) else "")
    if low == high == RANGE_END:
        return "everywhere on the range"
    below = "<" if high == OPEN else "<="
    if low == RANGE_END:
        return f"for z {below} {fmt(b, 4)}"
    above = ">" if low == OPEN else ">="
    if high == RANGE_END:
        return f"for z {above} {fmt(a, 4)}"
    return f"for {fmt(a, 4)} {'<' if low == OPEN else '<='} z {below} {fmt(b, 4)}"


def _flat(f, lo: float, hi: float) -> str:
    """'|z| > 5.99 (saturation)', 'z < 0', ... from the facts: where f' is below 1% of its peak on [lo, hi].

    A tail that begins at an end of the range is only that end on the picture: relu on [0, 5] is
    flat at z = 0 alone, where 'z < 0' would name points the range does not hold."""
    if f.flat_everywhere:
        return "everywhere: no gradient flows"
    below, above = f.flat_below, f.flat_above
    at_lo, at_hi = below is not None and below <= lo, above is not None and above >= hi
    if at_lo and at_hi:  # hard_sigmoid on [-3, 3]: f' = 0 at both ends only
        return f"at z = {fmt(lo, 4)} and z = {fmt(hi, 4)}, the ends of the range"
    if at_lo:
        return _flat_end(lo, above, hi)
    if at_hi:
        return _flat_end(hi, below, lo)
    if below is not None and above is not None:
        side = f"|z| > {fmt(above, 3)}" if abs(below + above) < 1e-9 else f"z < {fmt(below, 3)} and z > {fmt(above, 3)}"
        return f"{side} (saturation)"
    if below is not None:
        return f"z < {fmt(below, 3)}"
    if above is not None:
        return f"z > {fmt(above, 3)}"
    return "nowhere on the range"


def _flat_end(end: float, other: float | None, other_end: float) -> str:
    """'at z = 0, the end of the range', with the other tail when there is one inside the range."""
    at = f"at z = {fmt(end, 4)}, the end of the range"
    if other is None or not min(end, other_end) < other < max(end, other_end):
        return at
    return f"{at}, and z {'>' if end < other_end else '<'} {fmt(other, 3)}"


def _render_activations(study) -> None:
    from gradlab.curves import SATURATION_LEVEL

    lo, hi, _ = study.grid
    for curve in study.curves:
        act = curve.activation
        out.print(f"[bold]{escape(curve.spec)}[/bold]  {escape(act.formula)}   [dim]{escape(act.derivative_formula)}[/dim]")
        if curve.note:
            err.print(f"[yellow]note:[/yellow] {escape(curve.note)}", soft_wrap=True)
    show_table(_table(study.samples))
    facts = titled_table(f"facts on [{fmt(lo)}, {fmt(hi)}]")
    for column in ("function", "range of values", "seen on the grid", "max f'",
                   f"f' below {SATURATION_LEVEL:.0%} of its peak"):
        facts.add_column(column)
    for curve in study.curves:
        f = study.facts[curve.key]
        facts.add_row(curve.spec, f.output_range, f"{_seen(f.observed_min)} to {_seen(f.observed_max)}",
                      f"{fmt(f.max_derivative)} {_where(f)}", _flat(f, lo, hi))
    show_table(facts)
    if study.numeric:
        table = titled_table("numerical derivative against the exact one")
        for column in ("function", "difference", "step h", "max abs error", "at z", "max rel error"):
            table.add_column(column, justify="left" if column in ("function", "difference") else "right")
        for curve in study.curves:
            for kind, e in study.numeric[curve.key].items():
                table.add_row(curve.spec, kind, fmt(e.step), fmt(e.abs_error, 3), fmt(e.at, 4), fmt(e.rel_error, 3))
        show_table(table)
    if study.step_study:
        table = titled_table("best step h (max error over the grid)")
        for column in ("function", "difference", "best h", "error there", "theory h"):
            table.add_column(column, justify="left" if column in ("function", "difference") else "right")
        for curve in study.curves:
            for kind, best in study.step_study[curve.key].items():
                table.add_row(curve.spec, kind, fmt(best["best_h"], 3), fmt(best["error"], 3), fmt(best["theory_h"], 3))
        show_table(table)
        out.print("[dim]theory: forward ~ sqrt(eps) = 1.5e-08, central ~ eps^(1/3) = 6.1e-06; smaller h drowns in "
                  "round-off, larger h in truncation error[/dim]")


def _render_losses(study) -> None:
    from gradlab.curves import FLAT

    for curve in study.losses:
        out.print(f"[bold]{escape(curve.spec)}[/bold]  {escape(curve.loss.formula)}   "
                  f"[dim]{escape(curve.loss.gradient_formula)}[/dim]")
    for note in study.notes:
        err.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    show_table(_table(study.samples))
    first = study.facts[study.losses[0].key]
    table = titled_table(f"facts (target {fmt(study.target)})")
    if study.through_sigmoid:
        where = f"z = {fmt(first.worst_x)}, p = {fmt(first.worst_output)}"
        for column in ("loss", f"C at {where}", "dC/dz there", f"plateau: |dC/dz| < {fmt(FLAT)}, |p - t| > 0.5"):
            table.add_column(column)
        for curve in study.losses:
            f = study.facts[curve.key]
            plateau = "none" if f.plateau is None else f"z in [{fmt(f.plateau[0], 3)}, {fmt(f.plateau[1], 3)}]"
            table.add_row(curve.spec, fmt(f.worst_value, 4), fmt(f.worst_gradient, 4), plateau)
    else:
        for column in ("loss", "min C at y_hat", f"C at y_hat = {fmt(first.worst_x)}", "dC/dy_hat there"):
            table.add_column(column)
        for curve in study.losses:
            f = study.facts[curve.key]
            table.add_row(curve.spec, f"{fmt(f.min_value, 4)} at {fmt(f.min_at, 4)}", fmt(f.worst_value, 4),
                          fmt(f.worst_gradient, 4))
    show_table(table)
    pushes = sorted((abs(study.facts[c.key].worst_gradient), c.spec) for c in study.losses)
    if study.through_sigmoid and len(pushes) > 1 and pushes[0][0] > 0:
        (weak, weak_name), (strong, strong_name) = pushes[0], pushes[-1]
        ratio = fmt(strong / weak, 3)
        if ratio != "1":  # "hinge's |dC/dz| is 1 times bce_logits's" says nothing
            out.print(f"at the wrong end, {strong_name}'s |dC/dz| is {ratio} times {weak_name}'s: "
                      "the gradient that reaches the weights")

