"""``gradlab gradcheck``: backpropagation's gradient against central finite differences."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from gradlab.cli.common import (CONFIG_OR_RUN, NameOption, OutOption, SetOption, examples, named_if_stopped, out,
                                parse_number, saved, show_table, titled_table, weight_decay_formula,
                                weight_penalty_formula, whole_number_option)
from gradlab.errors import plural
from gradlab.names import GRADCHECK_EPS

HELP = (
    "Check backpropagation: compare every parameter's analytic gradient with central finite differences "
    "(C(w + eps) - C(w - eps)) / 2 eps on a batch of the training data, in float64. Prints a table with a "
    "row per parameter array and exits 1 if any entry fails. Writes a run directory with gradcheck.csv.\n\n"
    + examples(
        "gradlab gradcheck configs/xor.yaml",
        "gradlab gradcheck configs/spiral_relu.yaml --samples 8 --tol 1e-7",
        "gradlab gradcheck runs/<run>              # the trained weights",
    )
)

CSV_FILE = "gradcheck.csv"


def register(app: typer.Typer) -> None:
    app.command("gradcheck", help=HELP, short_help="Backprop's gradients against finite differences.")(gradcheck)


def gradcheck(
    source: Annotated[Path, typer.Argument(metavar=CONFIG_OR_RUN, show_default=False,
                                           help="A YAML config (initial weights) or a training run directory "
                                                "(final weights).")],
    eps: Annotated[float, typer.Option("--eps", parser=parse_number, help="Finite-difference step h.")] = GRADCHECK_EPS,
    tol: Annotated[float, typer.Option("--tol", parser=parse_number,
                                       help="Relative tolerance |a - n| / (|a| + |n|).")] = 1e-6,
    atol: Annotated[float, typer.Option("--atol", parser=parse_number,
                                        help="Absolute tolerance, for entries whose gradient is (nearly) zero and "
                                             "the difference quotient only rounding noise.")] = 1e-8,
    samples: Annotated[Optional[int], whole_number_option("--samples", help="Training samples in the batch. "
                                                          "Default: 32 (all if fewer).", show_default=False)] = 32,
    set_: SetOption = None,
    out_dir: OutOption = None,
    name: NameOption = None,
) -> None:
    """Compare backpropagation with central differences."""
    import math
    import shlex

    from gradlab.checking import prepare_check
    from gradlab.cli.landscape import ProgressBars
    from gradlab.errors import RunFailure
    from gradlab.experiment import load_source
    from gradlab.overrides import parse_overrides
    from gradlab.runs import Run

    experiment, run_dir = load_source(source, parse_overrides(set_ or []))
    settings = {"eps": eps, "tol": tol, "atol": atol, "samples": samples}
    check = prepare_check(experiment, samples=samples, eps=eps, rtol=tol, atol=atol)  # bad input: no run directory

    config = {"gradcheck": {"source": str(run_dir or source), **settings}, "experiment": experiment.resolved}
    argv = " ".join(f"--{k} {v}" for k, v in settings.items())
    argv += "".join(f" --set {shlex.quote(item)}" for item in set_ or [])  # the overrides are part of the check
    run = Run.create("gradcheck", config, name=name, out=out_dir,
                     reproduce=f"gradlab gradcheck {shlex.quote(str(Path(run_dir or source).absolute()))} {argv}")
    # the run's duration is the check's (2 forward passes per parameter entry), not only the writing
    with named_if_stopped(run):
        with ProgressBars() as bars:
            result = check.run(progress=bars.task("parameters"))
        columns = ["parameter", "layer", "shape", "size", "max_abs_error", "max_rel_error", "worst_index", "kinks",
                   "extrapolated", "passed"]
        with run.metrics(columns, name=CSV_FILE) as log:
            for row in result.rows:
                log.append({"parameter": row["name"], "layer": int(row["name"][1:]),
                            "shape": "x".join(map(str, row["shape"])), "size": math.prod(row["shape"]),
                            "max_abs_error": row["max_abs_error"], "max_rel_error": row["max_rel_error"],
                            "worst_index": ",".join(map(str, row["worst_index"])), "kinks": row["kinks"],
                            "extrapolated": row["extrapolated"], "passed": row["passed"]})
        failed = [row["name"] for row in result.rows if not row["passed"]]
        run.finish("completed", passed=result.passed, failed=failed, samples=check.n, objective=_objective(check),
                   max_abs_error=result.max_abs_error, max_rel_error=result.max_rel_error)

    from rich.markup import escape

    dtype = experiment.network.dtype
    weights = "initial" if run_dir is None else "final"
    out.print(f"[bold]gradient check[/bold] {escape(str(source))}: {experiment.network.n_params} parameters, "
              f"{weights} weights, first {plural(check.n, 'training sample')}, float64"
              f"{'' if dtype == 'float64' else f' (the config trains in {dtype})'}")
    if check.penalised:  # training minimises C + R: a wrong weight decay is a wrong gradient too
        out.print(f"checked: C + R, the loss plus the weight penalty training minimises, "
                  f"{weight_penalty_formula(experiment)}; backpropagation's gradient plus the weight decay "
                  f"training adds, {weight_decay_formula(experiment)}")
    show_table(_table(result, tol, atol, eps))
    raised = "" if result.noise <= atol else (
        f", raised to {result.noise:.3g}: the central differences' rounding noise at this loss" if not result.size else
        # a small loss of large outputs rounds with them
        f", raised to {result.noise:.3g} = eps_mach x {result.size:.3g} / eps, the rounding noise of the sums the "
        f"outputs are made of (sum |delta| (|x| |W| + |b|), above the loss itself); --eps {10 * eps:g} resolves "
        f"smaller errors there")
    out.print(f"an entry passes when its relative error is <= tol = {tol:g} or its absolute error <= atol = "
              f"{atol:g}{raised} (each entry by itself: the table's two maxima may come from different entries)",
              style="dim")
    if result.near_kink_atol is not None and result.near_kink_atol > result.abs_tolerance:
        out.print(f"entries near a kink of the loss were judged by a difference that falls short of it, whose "
                  f"rounding noise raises atol to {result.near_kink_atol:.3g} there", style="dim")
    kinks = sum(row["kinks"] for row in result.rows)
    if kinks:
        out.print(f"{kinks} {'entry sits' if kinks == 1 else 'entries sit'} on a kink: the step carries an "
                  f"activation's input onto or across a point where it bends (relu's and leaky_relu's 0, say), a "
                  f"weight under training.l1 across 0, where l1 |w| bends, or a sample across a kink of the loss "
                  f"(hinge's margin, mae's 0), and the central difference is no derivative there; backpropagation's "
                  f"value lies between the slopes from the left and the right, or matches the central difference "
                  f"with those activations (and that |w|) on their tangents, or a difference short of the loss's kink, "
                  f"as it should", style="dim")
    extrapolated = sum(row["extrapolated"] for row in result.rows)
    if extrapolated:  # inputs of 1e3 make a step of 1e-6 on W1 a step of 1e-3 in z
        out.print(f"{extrapolated} {'entry' if extrapolated == 1 else 'entries'} passed only by Richardson's "
                  f"extrapolation, (4 D(eps/2) - D(eps)) / 3: at eps = {eps:g} the central difference's truncation "
                  f"error, about eps^2 f''' / 6, was too large; a smaller --eps, or standardised inputs, avoids it and "
                  f"checks the other entries more closely", style="dim")
    saved(run.path)
    if failed:
        # among failing entries only: a larger relative error elsewhere may have passed by atol
        name, worst = max(((r["name"], r["worst_failure"]) for r in result.rows if not r["passed"]),
                          key=lambda pair: pair[1]["rel_error"])
        cause = ("its step carries a unit across a kink where the activation's derivative is not the slope of "
                 "its values" if worst["slope_not_value"] else
                 "a wrong derivative, or an eps too large or too small for float64")
        raise RunFailure(f"gradient check failed for {', '.join(failed)}: max relative error of a failing entry "
                         f"{worst['rel_error']:.3g} in {name}{list(worst['index'])} (absolute {worst['abs_error']:.3g}; "
                         f"tol {tol:g}, atol {worst['atol']:g}): {cause}")
    penalised = " with weight decay" if check.penalised else ""
    of = " of C + R" if check.penalised else ""
    out.print(f"[green]passed[/green]: backpropagation{penalised} agrees with central differences{of} for all "
              f"{len(result.rows)} parameter arrays")


def _objective(check) -> str:
    """What was differentiated: the loss C, or C + R with training's weight penalty R."""
    return "C + R" if check.penalised else "C"


def _table(result, tol: float, atol: float, eps: float):
    table = titled_table(f"analytic vs numeric gradient (eps = {eps:g})")
    for column in ("parameter", "layer", "shape", "max abs error", "max rel error", "worst entry", "result"):
        table.add_column(column, justify="left" if column in ("parameter", "shape", "result") else "right")
    for row in result.rows:
        how = ", ".join([*([f"{row['kinks']} at a kink"] if row["kinks"] else []),
                         *([f"{row['extrapolated']} extrapolated"] if row["extrapolated"] else [])])
        verdict = "[red]FAIL[/red]" if not row["passed"] else f"[green]pass[/green]{f' ({how})' if how else ''}"
        table.add_row(row["name"], row["name"][1:], " x ".join(map(str, row["shape"])),
                      f"{row['max_abs_error']:.3g}", f"{row['max_rel_error']:.3g}",
                      str(list(row["worst_index"])), verdict)
    return table
