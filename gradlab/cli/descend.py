"""``gradlab descend``: gradient descent on a function given as text, with an iteration table."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from gradlab.cli.common import (NameOption, OutOption, SetOption, examples, fmt, one_of, out, parse_number, saved,
                                show_table, whole_number_option)
from gradlab.names import DESCENT_METHODS

FIRST_ROWS = 5  # always shown, so the start of the descent is visible whatever --every is
TARGET_ROWS = 100  # the automatic --every keeps the table about this long

HELP = (
    "Gradient descent on a function of x (or x and y): prints the derivative, the update rule and an "
    "iteration table, and writes a run directory with metrics.csv and a plot.\n\n"
    + examples(
        "gradlab descend --lr 0.1 --x0 8",
        "gradlab descend --lr 1.1            # diverges: lr is above 2/f''(x*) = 1",
        "gradlab descend --f '(1-x)**2 + 100*(y-x**2)**2' --x0=-1.5,2 --method momentum --lr 2e-3 --steps 3000",
        "gradlab descend --method newton",
        "gradlab descend --config runs/<run>/config.yaml --steps 20",
        "gradlab descend --set method=adam --set lr=0.3",
    )
)


def register(app: typer.Typer) -> None:
    app.command("descend", help=HELP, short_help="Gradient descent on f(x) or f(x, y), step by step.")(descend)


def _opt(flag: str, text: str, **kwargs):
    return typer.Option(flag, help=text, show_default=False, **kwargs)


def _whole(flag: str, text: str):
    # the range of each is checked by DescendConfig, for flags, --set and config files alike
    return whole_number_option(flag, help=text, show_default=False)


def descend(
    f: Annotated[Optional[str], _opt("--f", "The function: x (or x and y), numbers, + - * / **, "
                                     "exp log sqrt sin cos tan tanh sigmoid softplus relu abs ... "
                                     "Default: x**2 - 4*x + 6.")] = None,
    x0: Annotated[Optional[str], _opt("--x0", "Start point; 'x,y' for two variables (write --x0=-1.5,2). "
                                      "Default: 8.")] = None,
    lr: Annotated[Optional[float], _opt("--lr", "Learning rate. Default: 0.1 (1 for newton).",
                                        parser=parse_number)] = None,
    steps: Annotated[Optional[int], _whole("--steps", "Maximum number of steps. Default: 100.")] = None,
    tol: Annotated[Optional[float], _opt("--tol", "Stop when the gradient and the next step are both "
                                         "below this. Default: 1e-08.", parser=parse_number)] = None,
    method: Annotated[Optional[str], _opt("--method", f"{one_of(DESCENT_METHODS)}. "
                                          "Default: gd.")] = None,
    momentum: Annotated[Optional[float], _opt("--momentum", "beta of momentum and nesterov. "
                                              "Default: 0.9.", parser=parse_number)] = None,
    beta1: Annotated[Optional[float], _opt("--beta1", "Adam's beta1. Default: 0.9.", parser=parse_number)] = None,
    beta2: Annotated[Optional[float], _opt("--beta2", "Adam's beta2. Default: 0.999.", parser=parse_number)] = None,
    eps: Annotated[Optional[float], _opt("--eps", "Adam's epsilon. Default: 1e-08.", parser=parse_number)] = None,
    every: Annotated[Optional[int], _whole("--every", "Show every N-th step in the table (the first "
                                           f"{FIRST_ROWS} and the last always). Default: about "
                                           f"{TARGET_ROWS} rows.")] = None,
    digits: Annotated[Optional[int], _whole("--digits", "Significant digits in the table. Default: 6.")] = None,
    out_dir: OutOption = None,
    name: NameOption = None,
    plot: Annotated[Optional[bool], _opt("--plot/--no-plot", "Draw descent.png. Default: --plot.")] = None,
    config: Annotated[Optional[Path], _opt("--config", "Read the settings from a YAML file (a run's "
                                           "config.yaml re-runs it); --set and flags override it.")] = None,
    set_: SetOption = None,
) -> None:
    flags = dict(f=f, x0=x0, lr=lr, steps=steps, tol=tol, method=method, momentum=momentum, beta1=beta1,
                 beta2=beta2, eps=eps, every=every, digits=digits, name=name, plot=plot)
    from gradlab.runs import check_root

    cfg, expr, descent = prepare(flags, config, set_)  # every input check happens here, before the run exists
    check_root(out_dir)
    show_setup(expr, descent.settings)
    result = record(cfg, expr, descent, out_dir)
    report(cfg, expr, descent, result)
    saved(result.run.path)
    if result.outcome.reason == "interrupted":
        raise typer.Exit(130)


REPRODUCE = "gradlab descend --config {run}/config.yaml"


@dataclass
class Recorded:
    """A finished descent run: its run directory, its steps (a descent.Trajectory), how it stopped, the
    stability numbers."""

    run: Any
    records: Any
    outcome: Any
    stable: Any
    downhill: Optional[str] = None  # "+inf"/"-inf": a 1-D f that keeps falling that way (no minimum)
    point: Any = None  # the descent.Stationary or Plateau the final line names where a converged run is at no minimum
    kink: Any = None  # the descent.Kink a 1-D run ended circling, where no step-size bound applies


def record(cfg, expr, descent, out_dir: Optional[Path]) -> Recorded:
    """Run the descent into a new run directory (metrics row by row, summary, plot); shared with ``rerun``."""
    from gradlab.descent import Trajectory, kink_minimum, metric_columns, metric_row, stability, unbounded_direction
    from gradlab.processes import signals_deferred
    from gradlab.runs import Run

    with Run.create("descend", cfg.resolved(), name=cfg.name, out=out_dir, reproduce=REPRODUCE) as run:
        log = run.metrics(metric_columns(expr.variables))
        log.append(metric_row(descent, None))
        records = Trajectory(descent, descent.settings.steps)  # a million steps as Step objects took 0.9 GB
        try:
            for batch in descent.batches():
                # a Ctrl-C between a step's metrics row and its record split them: it now ends the run
                # after the step it came in, once both are written
                with signals_deferred() as caught:
                    for step in batch:
                        log.append(metric_row(descent, step))
                        records.add(step)
                        if caught:
                            break
            outcome = descent.outcome
        except KeyboardInterrupt as stop:  # keep what was done: the table so far, the plot, status interrupted
            from gradlab.errors import Terminated

            outcome = descent.interrupt(records, "SIGTERM" if isinstance(stop, Terminated) else "Ctrl-C")
        stable = stability(descent, records)
        downhill = unbounded_direction(expr, outcome.x, descent.x0) if stable is None else None
        point = _no_minimum_point(expr, outcome, downhill)
        kink = kink_minimum(expr, records.x[:, 0]) \
            if stable is None and downhill is None and expr.n_vars == 1 else None
        plots = _plot(run, expr, descent, records) if cfg.plot else []
        run.finish(outcome.status, **_summary(expr, cfg, outcome, stable, downhill, point, plots),
                   kink=None if kink is None else kink.as_dict())
    return Recorded(run, records, outcome, stable, downhill, point, kink)


def report(cfg, expr, descent, result: Recorded) -> None:
    """The iteration table, the final line and (one variable) the stability lines."""
    if result.records:  # a start that is already stationary has no rows to show
        # about 100 rows of the steps taken: a run of --steps 100000 that converged after 94 showed 6
        show_table(_table(expr, result.records, cfg.every or auto_every(len(result.records)), cfg.digits))
    _say(_final_line(expr, descent.settings, result.outcome, cfg.digits, result.downhill, result.point))
    if expr.n_vars == 1:
        for line in _stability_lines(result.stable, descent.settings, cfg.digits, result.downhill, result.kink):
            _say(line)


def prepare(flags: dict, config: Path | None, sets: Optional[list[str]] = None):
    """Validate everything (settings, formula, start point) and return (config, expression, descent).

    Precedence: the file, then ``--set KEY=VALUE``, then the flags.
    """
    from gradlab.config import check_file_kind, load_yaml, validate
    from gradlab.descent import DescendConfig
    from gradlab.descent import Descent
    from gradlab.descent.methods import METHODS
    from gradlab.errors import ConfigError
    from gradlab.expr import parse
    from gradlab.overrides import apply_overrides, name_overrides, parse_overrides, synonyms

    file_values = load_yaml(config) if config is not None else {}
    overrides = parse_overrides(sets or [])
    given = {k: v for k, v in flags.items() if v is not None}
    replaced = {name for key in (*overrides, *given) for name in synonyms(DescendConfig, [], key)}
    default = DescendConfig.model_fields["method"].default
    switched = "method" in replaced
    method = given.get("method", overrides.get("method")) if switched else None
    known = isinstance(method, str) and method in METHODS
    if file_values:  # the file's own mistakes, named with the file; values replaced on the command line don't count
        check_file_kind(file_values, config, "descend")
        own = {k: v for k, v in file_values.items() if k not in replaced}
        if switched:  # a config.yaml re-run with another method: the old method's settings stay behind
            own = _left_behind(own, file_values.get("method", default), method if known else None)
            file_values = {k: v for k, v in file_values.items() if k in replaced or k in own}
        validate(DescendConfig, own | ({"method": method} if known else {}), f"{config}: ")
    # flags go in last, as overrides too, so --lr replaces a learning_rate: from the file or --set
    values = apply_overrides(apply_overrides(file_values, overrides, model=DescendConfig), given, model=DescendConfig)
    flagged = {name for key in given for name in synonyms(DescendConfig, [], key)}
    kept = {k: v for k, v in overrides.items() if k not in flagged}  # a --set a flag replaced is not blamed for the flag's value
    try:
        cfg = validate(DescendConfig, values)
    except ConfigError as error:
        raise ConfigError(name_overrides(str(error), kept, DescendConfig)) from None
    expr = parse(cfg.f)
    expr.hessian_sym  # newton and the stability lines need f''; a formula sympy cannot take it of fails here
    return cfg, expr, Descent(expr, cfg.x0, cfg.settings())


def _left_behind(values: dict, old, new: str | None) -> dict:
    """A run's settings ``values`` for a run with method ``new`` instead of ``old``: without the
    settings of methods (momentum, beta1, ...) that ``new`` does not read (all of them when ``new``
    is None, no method), and without an ``lr`` that is ``old``'s default where ``new`` has another
    (config.yaml records the resolved lr: newton's 1 made gd swing between 8 and -4 for ever)."""
    from gradlab.descent.methods import METHODS, default_lr

    reads = METHODS.get(new).uses if new is not None else ()
    specific = {name for _, cls in METHODS.items() for name in cls.uses}
    kept = {k: v for k, v in values.items() if k not in specific or k in reads}
    if new is not None and isinstance(old, str) and old in METHODS \
            and kept.get("lr") == default_lr(METHODS.canonical(old)) != default_lr(METHODS.canonical(new)):
        del kept["lr"]
    return kept


def auto_every(steps: int, rows: int = TARGET_ROWS) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that shows at most ``rows`` of ``steps`` rows."""
    every, scale = 1, 1
    while steps / every > rows:
        for factor in (2, 5, 10):
            every = factor * scale
            if steps / every <= rows:
                return every
        scale *= 10
    return every


def shown_steps(n: int, every: int, first: int = FIRST_ROWS) -> list[int]:
    """Step numbers in the table: the first few, every ``every``-th, and the last."""
    return sorted({*range(1, min(first, n) + 1), *range(every, n + 1, every), *([n] if n else [])})


def _say(text: str) -> None:
    out.print(text, markup=False, highlight=False, soft_wrap=True)  # long lines: the terminal wraps, rich does not cut


def show_setup(expr, settings) -> None:
    from gradlab.descent import update_rule

    head = "y" if expr.n_vars == 1 else "f"
    _say(f"{head} = {expr.formula}")
    for line in expr.derivative_lines():
        _say(line)
    if settings.method == "newton":  # Newton divides by the curvature: show it
        for line in expr.second_derivative_lines():
            _say(line)
    for line in update_rule(expr, settings):
        _say(line)


def _point(values, digits: int) -> str:
    if len(values) == 1:
        return fmt(float(values[0]), digits)
    return "(" + ", ".join(fmt(float(v), digits) for v in values) + ")"


def _table(expr, records, every: int, digits: int):
    from rich.table import Table

    one = expr.n_vars == 1
    names = ("step", "x_old", "dy/dx", "x_new", "y(x_new)") if one else (
        "step", "(x, y) old", "grad f", "(x, y) new", "f(new)")
    shown = shown_steps(len(records), every)
    # said only when steps are left out: --steps 3 --every 10 shows all three
    caption = f"shown: steps 1-{FIRST_ROWS}, every {every} steps, and the last" if len(shown) < len(records) else None
    table = Table(*names, caption=caption)
    for column in table.columns:
        column.justify = "right"
    for k in shown:
        r = records[k - 1]
        table.add_row(str(r.step), _point(r.x_old, digits), _point(r.grad, digits), _point(r.x_new, digits),
                      fmt(r.f_new, digits))
    return table


def _no_minimum_point(expr, outcome, downhill: Optional[str]):
    """The point a converged run stopped at, where it is no minimum: a :class:`~gradlab.descent.Plateau`,
    or a :class:`~gradlab.descent.Stationary` point (a maximum, saddle, inflection or flat point); else None."""
    from gradlab.descent import plateau, stationary_kind

    if outcome.reason != "converged":
        return None
    # a plateau first: the gradient is below tol there but no stationary point is near, so none can be named
    point = plateau(expr, outcome.x) or stationary_kind(expr, outcome.x)
    if point is not None and downhill and point.kind == "flat point":
        return None  # "possibly not a minimum" says less than the tail: there is none that way (x**3 from -1)
    return point


def _final_line(expr, settings, outcome, digits: int, downhill: Optional[str] = None, point=None) -> str:
    """How the run ended; a run that stopped on a function falling away (``downhill``), or at a
    ``point`` that is no minimum (:func:`_no_minimum_point`), is not called converged."""
    tail = f"; {_no_minimum(downhill)}" if downhill else ""
    count = f"{outcome.steps} step{'s' * (outcome.steps != 1)}"
    where = _where(expr, outcome.x, outcome.f, digits)
    if outcome.reason == "interrupted":
        return f"interrupted ({outcome.detail}) after {count}: {where}"
    if outcome.reason == "diverged":
        return f"diverged at step {outcome.steps}: {outcome.detail} (lr = {settings.lr:g}){tail}"
    if point is not None:  # the gradient is below tol, but not at a minimum: descent cannot tell, f and f'' can
        advice = tail or "; start elsewhere"  # where f falls away, no start leads to a minimum that way
        what = (_on_a_plateau(expr, point, where, settings.tol, digits) if point.kind == "plateau"
                else _not_a_minimum(expr, point, where))
        return f"stopped after {count} {what}{advice}"
    head = "converged" if outcome.reason == "converged" and not downhill else "stopped"
    return f"{head} after {count}: {where} ({outcome.detail}){tail}"


def _point_name(expr, point) -> str:
    """``point.kind``, except that in one variable a point lower on one side and higher on the other
    is an inflection point (x**3), not a saddle point."""
    return "inflection point" if expr.n_vars == 1 and point.kind == "saddle point" else point.kind


def _not_a_minimum(expr, point, where: str) -> str:
    """'at a maximum of f, not a minimum: <where> (why)' for a :class:`~gradlab.descent.Stationary` point."""
    one = expr.n_vars == 1
    sign_change = ("f''" if one else "an eigenvalue of the Hessian") + " changes sign right beside the point"
    if point.kind == "flat point":  # negative curvature at x, but not beside it: too flat to tell what x is
        return (f"at a flat point of f, possibly not a minimum: {where} (the gradient is 0, and {sign_change}: "
                f"0 to the run's precision)")
    if point.by_values:  # the Hessian cannot tell (0 to rounding along some direction, not finite, changing sign)
        curvature = "f''" if one else "the Hessian"
        if not point.hessian_finite:
            flat = f"the gradient is 0 and {curvature} is not finite there"
        elif point.curvature_changes:
            flat = f"the gradient is 0 and {sign_change}"
        else:
            flat = ("the gradient and f'' are 0" if one else "the gradient is 0 and the Hessian has an eigenvalue 0"
                    ) + " to rounding"
        if point.kind == "maximum":
            lower = "on both sides" if one else "on every side"
        else:  # lower on some side, either both sides along some line (x**4 - y**4) or one only (x**3)
            lower = "on one side and higher on the other" if one else "on some sides and higher on others"
        why = f"{flat}, but f is lower {lower}"
    else:
        why = "the gradient is 0, but " + ("f'' < 0 there" if one else "the Hessian has a negative eigenvalue there")
    kind = _point_name(expr, point)
    return f"at {'an' if kind[0] in 'aeiou' else 'a'} {kind} of f, not a minimum: {where} ({why})"


def _on_a_plateau(expr, point, where: str, tol: float, digits: int) -> str:
    """'on a plateau of f, not at a minimum: <where> (why)' for a :class:`~gradlab.descent.Plateau`."""
    rounded = " and rounds to 0 in float64" if point.rounded else ""
    return (f"on a plateau of f, not at a minimum: {where} (the gradient, of size {_size(point.gradient, digits)}, "
            f"is below tol = {tol:g}{rounded}, but f keeps falling {_direction(expr, point.direction, digits)})")


def _size(value, digits: int) -> str:
    """``value`` (a float, or an mpmath number that float64 may round to 0: 5.1e-435) as :func:`fmt` shows it."""
    if float(value) == 0 and value != 0:
        import mpmath

        return mpmath.nstr(value, digits)
    return fmt(float(value), digits)


def _direction(expr, u, digits: int) -> str:
    """'toward smaller x' for a direction along an axis, else 'along (-0.707107, -0.707107)'."""
    moving = [(name, c) for name, c in zip(expr.variables, u) if c != 0]
    if len(moving) == 1:
        name, c = moving[0]
        return f"toward {'larger' if c > 0 else 'smaller'} {name}"
    return f"along {_point(u, digits)}"


def _no_minimum(downhill: str) -> str:
    return f"f keeps decreasing as x -> {downhill}, so there is no minimum to converge to that way"


def _where(expr, x, f, digits: int) -> str:
    if expr.n_vars == 1:
        return f"x = {fmt(float(x[0]), digits)}, y = {fmt(f, digits)}"
    return f"(x, y) = {_point(x, digits)}, f = {fmt(f, digits)}"


_BOUND_TEXT = {
    "gd": "gradient descent converges only if lr < 2/f''(x*)",
    "momentum": "momentum converges only if lr < 2(1 + beta)/f''(x*)",
    "nesterov": "nesterov converges only if lr < 2(1 + beta)/((1 + 2 beta) f''(x*))",
    "newton": "newton divides its step by f'', so whatever f''(x*) it converges near x* only if lr < 2",
}
_RATIO_TEXT = {"gd": "|1 - lr f''(x*)|", "momentum": "spectral radius", "nesterov": "spectral radius",
               "newton": "|1 - lr|"}


def _apart(a: float, b: float, digits: int) -> tuple[str, str]:
    """``a`` and ``b`` with at least ``digits`` significant digits, and more until they read as
    different numbers when they are: lr = 0.9999999 against the bound 1 printed as '1' and '1'
    said 'lr = 1 is below it'."""
    for n in range(digits, 18):  # 17 digits tell any two float64 apart
        shown = fmt(a, n), fmt(b, n)
        if a == b or shown[0] != shown[1]:
            return shown
    return shown


def _stability_lines(stable, settings, digits: int, downhill: Optional[str] = None, kink=None) -> list[str]:
    """Two lines: the step-size bound near x*, and the predicted against the observed error ratio."""
    d = lambda v: fmt(v, digits)  # noqa: E731
    if stable is None and downhill:
        return [f"stability: f falls away towards x = {downhill} instead of to a minimum, so no step-size bound applies"]
    if kink is not None:  # |x| at 0: f'' says nothing there, and every step keeps the size lr |f'|
        return [f"stability: x* = {d(kink.x)} is a kink of f, where f' jumps from {d(kink.left)} to {d(kink.right)}: "
                f"f' does not shrink near it as near a smooth minimum, so the run circles it (its last points lie between "
                f"x = {d(kink.low)} and {d(kink.high)}); no step-size bound applies, and a smaller lr ends closer to it"]
    if stable is None:
        # no "(f'' <= 0 there)": at an inflection such as that of x**3 + x**4, f'' > 0 all along the path
        return ["stability: no minimum of f found near the path, so no step-size bound applies"]
    head = f"stability: x* = {d(stable.x_star)}, f''(x*) = {d(stable.curvature)}; "
    if stable.flat and stable.method == "newton":
        lines = [head + "a flat minimum (f''(x*) = 0 to rounding): newton converges there only linearly, "
                        "not quadratically"]
    elif stable.flat:
        lines = [head + "a flat minimum (f''(x*) = 0 to rounding): no step-size bound, and the error "
                        "shrinks more slowly than any fixed ratio"]
    elif stable.bound is not None:
        side = "below" if settings.lr < stable.bound else "not below"
        lr, bound = _apart(settings.lr, stable.bound, digits)
        value = "" if stable.method == "newton" else f" = {bound}"  # newton's bound is the number 2 itself
        lines = [head + f"{_BOUND_TEXT[stable.method]}{value}; lr = {lr} is {side} it"]
    else:
        lines = [head + f"plain gradient descent would need lr < 2/f''(x*) = {d(stable.gd_bound)} "
                        f"({stable.method} has no such fixed bound)"]
    observed = (f"observed {d(stable.observed)} (last {stable.observed_steps} step{'s' * (stable.observed_steps > 1)})"
                if stable.observed is not None else "observed: too few steps away from x* to measure")
    note = " (no linear term: quadratic convergence)" if stable.method == "newton" and stable.predicted == 0 else ""
    if stable.flat and stable.method != "newton":  # a bare "= 1" read as a fixed ratio after "no fixed ratio"
        note = " (f''(x*) = 0: the ratio creeps up towards 1)"
    predicted = (f"predicted {_RATIO_TEXT[stable.method]} = {d(stable.predicted)}{note}, "
                 if stable.predicted is not None else "")
    lines.append(f"error ratio |x_k+1 - x*| / |x_k - x*|: {predicted}{observed}")
    return lines


def _plot(run, expr, descent, records) -> list[str]:
    from gradlab.plots.descent import plot_descent

    files = plot_descent(expr, records.x, records.f, run.path,
                         title=f"{descent.settings.method}, lr = {descent.settings.lr:g}")
    return [p.name for p in files]


def _summary(expr, cfg, outcome, stable, downhill, point, plots) -> dict:
    from gradlab.descent import norm

    final = {v: float(c) for v, c in zip(expr.variables, outcome.x)}
    final["f"] = float(outcome.f)
    final["gradient_norm"] = norm(outcome.grad)
    return {
        "steps": outcome.steps,
        "stop_reason": outcome.reason,
        "message": _final_line(expr, cfg.settings(), outcome, 17, downhill, point),
        # what the message names where a converged run is at no minimum (stop_reason stays converged)
        "not_a_minimum": None if point is None else _point_name(expr, point),
        "final": final,
        "stability": stable.as_dict() if stable is not None else None,
        "plots": plots,
    }
