"""``gradlab landscape``: the loss surface and the path training took across it."""

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from gradlab.cli.common import (CONFIG_OR_RUN, NameOption, OutOption, SetOption, examples, fmt, named_if_stopped, out,
                                progress_bars, saved, weight_penalty, weight_penalty_formula, whole_number_option)
from gradlab.errors import plural

HELP = (
    "Draw the loss surface and the path training took across it. With two parameters (one neuron with "
    "one input: w and b) the surface is exact and the path is (w, b) after every update; with more, a 2-D "
    "slice through the final weights along two random filter-normalised directions (Li et al. 2018) with "
    "the path projected onto it, plus the 1-D interpolation from the initial to the final weights. A CONFIG "
    "is trained first (recording its path); a RUN_DIR uses its path.npy.\n\n"
    + examples(
        "gradlab landscape configs/saturation_mse.yaml     # the MSE plateau the path crawls across",
        "gradlab landscape configs/saturation_ce.yaml      # cross-entropy: no plateau",
        "gradlab landscape configs/xor.yaml --points 31",
        "gradlab landscape runs/<run> --range 2",
        "gradlab landscape configs/saturation_mse.yaml --range=-4,4,-4,4",
    )
)

FILES = {"contour": "landscape_contour.png", "surface": "landscape_surface.png", "grid": "landscape_grid.csv",
         "path": "landscape_path.csv", "interpolation": "landscape_interpolation.png"}


def register(app: typer.Typer) -> None:
    app.command("landscape", help=HELP, short_help="The loss surface and the path descent took across it.")(
        landscape)


def landscape(
    source: Annotated[Path, typer.Argument(metavar=CONFIG_OR_RUN, show_default=False,
                                           help="A YAML config (trained here first) or a training run "
                                                "directory.")],
    range_: Annotated[Optional[str], typer.Option(
        "--range", help="R: a box of half-width R (around the path for w, b; alpha, beta in [-R, R] for a "
        "slice); or U0,U1,V0,V1 (write --range=-4,4,-4,4); numbers within +-1e6, widths >= 1e-6. Default: "
        "the path's box with a margin for w, b; for a slice, R covering the projected path, at least 1.",
        show_default=False)] = None,
    points: Annotated[Optional[int], whole_number_option(
        "--points", help="Grid points per axis, 3 to 1001. Default: 101 for w, b; 41 for a slice.",
        show_default=False)] = None,
    no_train: Annotated[bool, typer.Option("--no-train", help="CONFIG only: no training, the surface around "
                                           "the initial weights.")] = False,
    seed: Annotated[int, whole_number_option("--seed", help="Seed of the slice's random directions.", min=0)] = 0,
    workers: Annotated[Optional[int], whole_number_option("--workers", help="Processes for a large grid. "
                                                          "Default: every core this process may use.",
                                                          show_default=False)] = None,
    set_: SetOption = None,
    out_dir: OutOption = None,
    name: NameOption = None,
) -> None:
    """The loss surface and the training path."""
    import shlex

    import numpy as np

    from gradlab import landscape as ls
    from gradlab.errors import InputError, RunFailure
    from gradlab.experiment import load_source
    from gradlab.overrides import parse_overrides
    from gradlab.runs import Run

    experiment, run_dir = load_source(source, parse_overrides(set_ or []))
    bounds = ls.parse_range(range_)
    points = ls.check_points(points if points is not None else ls.default_points(experiment.network))
    workers = ls.available_cores() if workers is None else workers
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    if run_dir is not None and no_train:
        raise InputError("--no-train is for a config file; a run directory is already trained")
    # a damaged path.npy is bad input: said before a run directory exists
    recorded = ls.recorded_path(run_dir, experiment.network.n_params) if run_dir is not None else None
    settings = {"range": range_, "points": points, "seed": seed, "no_train": no_train}
    options = " ".join(f"--{k} {shlex.quote(str(v))}" for k, v in (("range", range_), ("points", points),
                                                                    ("seed", seed)) if v is not None) \
        + (" --no-train" if no_train else "")

    if run_dir is None:
        run = Run.create("landscape", experiment.resolved, name=name or experiment.config.name, out=out_dir,
                         reproduce=f"gradlab landscape {{run}}/config.yaml {options}")
    else:
        run = Run.create("landscape", {"landscape": {"run": str(run_dir), **settings}}, name=name, out=out_dir,
                         reproduce=f"gradlab landscape {shlex.quote(str(run_dir.absolute()))} {options}")
    result, nothing = None, None
    with named_if_stopped(run), ProgressBars() as bars:
        status, path, every = _path(experiment, run, recorded, no_train, bars)
        final = experiment.network.flat().astype(np.float64)
        # Ctrl-C in training stops the command: the grid can take longer than the training did
        if status != "interrupted" and np.all(np.isfinite(final)):
            initial = experiment.initial if run_dir is not None and path is None else None
            result = ls.compute(experiment.network, experiment.loss, experiment.X_train, experiment.Y_train, path,
                                initial=initial, bounds=bounds, points=points, seed=seed, workers=workers,
                                progress=bars.grid(), l1=experiment.settings.l1, l2=experiment.settings.l2)
            if not np.isfinite(result.loss).any():  # nothing to draw contours of
                nothing = (f"the loss is not finite at any of the {points} x {points} grid points (C = "
                           f"{fmt(result.path_loss[-1], 4)} at the weights themselves: float64 overflows around "
                           f"them); there is no surface to draw (run {run.path})")
                if status != "diverged":  # the command failed; a diverged training keeps its status
                    raise RunFailure(nothing)
                result = None
            else:
                files = _write(result, run, _title(experiment, source), every)
                run.finish(status, path_every=every, plots=[f.name for f in files if f.suffix == ".png"],
                           landscape=_summary(result, settings, every))
        if result is None:  # the run keeps its training status (diverged, interrupted); the command ends below
            run.finish(status, landscape=None)
    if status == "interrupted":
        saved(run.path)
        out.print(f"[yellow]interrupted[/yellow] during training: no landscape drawn; the training so far is "
                  f"kept (model.npz, path.npy): gradlab landscape {escape(str(run.path))} draws it", highlight=False)
        raise typer.Exit(130)
    if result is None:
        reason = run.summary.get("stop_reason") or f"training {status}"
        raise RunFailure(nothing or f"{reason}: there is no landscape around non-finite weights (run {run.path})")
    _report(result, experiment, every, status, "final" if run_dir is not None or not no_train else "initial")
    saved(run.path)


def _path(experiment, run, recorded, no_train: bool, bars):
    """(training status, path or None, stride): a run's recorded (path, stride), or train a config
    here recording its path; with --no-train the path is the initial weights alone."""
    import numpy as np

    from gradlab.runner import execute, path_stride

    if recorded is not None:
        return ("completed", *recorded)
    if no_train:
        return "completed", experiment.network.flat()[None, :].astype(np.float64), 1
    every = path_stride(experiment)
    history = execute(experiment, run, [bars.epochs(experiment.settings.epochs)], plots=False, record_path=every)
    return history.status, np.array(history.params_path, dtype=np.float64), every


def _title(experiment, source) -> str:
    name = experiment.config.name or Path(str(source)).stem
    penalty = weight_penalty(experiment)
    penalised = f" + weight penalty ({penalty})" if penalty else ""
    return f"{name}: {experiment.loss.name} + {experiment.network.output.activation.name}{penalised}"


def _write(result, run, title: str, every: int) -> list[Path]:
    from gradlab.plots import landscape as lp

    what = "loss and training path" if len(result.path) > 1 else "loss around the initial weights"  # --no-train
    files = [lp.contour(result, run.file(FILES["contour"]), title=f"{title}: {what}", every=every),
             lp.surface(result, run.file(FILES["surface"]), title=title),
             lp.write_grid(result, run.file(FILES["grid"])), lp.write_path(result, run.file(FILES["path"]))]
    if result.interpolation is not None:
        files.append(lp.interpolation(*result.interpolation, run.file(FILES["interpolation"]),
                                      title=f"{title}: from initial (t = 0) to final (t = 1)"))
    return files


def _grid_range(result) -> tuple[float, float] | tuple[None, None]:
    """The smallest and largest finite loss on the grid, (None, None) when none is finite."""
    import numpy as np

    finite = result.loss[np.isfinite(result.loss)]
    return (float(finite.min()), float(finite.max())) if finite.size else (None, None)


def _summary(result, settings, every) -> dict:
    low, high = _grid_range(result)
    return {
        **settings, "kind": result.kind, "axes": list(result.axes),
        "box": [float(result.u[0]), float(result.u[-1]), float(result.v[0]), float(result.v[-1])],
        "grid_min": low, "grid_max": high,
        "path_points": int(len(result.path)), "path_every": every,
        "start_loss": float(result.path_loss[0]), "end_loss": float(result.path_loss[-1]),
        "explained": result.explained,
    }


def _report(result, experiment, every: int, status: str, weights: str) -> None:
    """A few lines: what was drawn, where the path went, and how big its steps were."""
    import numpy as np

    net = experiment.network
    penalty = weight_penalty(experiment)
    c = "C + R" if penalty else "C"  # what the numbers below are: the function drawn
    surface = c if c == "C" else f"({c})"
    box = f"[{fmt(result.u[0], 4)}, {fmt(result.u[-1], 4)}] x [{fmt(result.v[0], 4)}, {fmt(result.v[-1], 4)}]"
    if penalty:  # what training minimised: without R the path ended partway down a slope
        out.print(f"drawn: C + R, the loss plus the weight penalty training minimised, "
                  f"{weight_penalty_formula(experiment)}")
    if result.kind == "exact":
        out.print(f"[bold]exact loss surface[/bold] {surface}(w, b) of the {net.sizes[0]} -> {net.sizes[-1]} neuron: "
                  f"{len(result.u)} x {len(result.v)} grid over w, b in {box}")
    else:
        out.print(f"[bold]2-D slice[/bold] through the {weights} {net.n_params} parameters along two random "
                  f"filter-normalised directions: {len(result.u)} x {len(result.v)} grid over alpha, beta in {box}")
    p, loss = result.path, result.path_loss
    ok = np.all(np.isfinite(p), axis=1)
    if len(p) > 1:
        steps = np.hypot(*np.diff(p[ok], axis=0).T) if result.kind == "exact" else None  # hypot: no overflow
        # a slice's path is a projection: beside the true C, the surface's value where the point is drawn
        plane = None if result.plane_loss is None else result.plane_loss[ok]

        def point(k: int, value: float) -> str:
            xy = p[ok][k]
            # the plane passes through the final weights (its origin): there the two values are one
            shown = plane is not None and fmt(plane[k], 4) != fmt(value, 4)
            where = f" at the weights ({fmt(plane[k], 4)} on the plane)" if shown else ""
            return f"({fmt(xy[0], 4)}, {fmt(xy[1], 4)}), {c} = {fmt(value, 4)}{where}"

        per = "update" if every == 1 else f"{every} updates"
        out.print(f"path: {plural(len(p) - 1, 'step')} (one per {per}) from {point(0, loss[0])} to {point(-1, loss[-1])}"
                  + ("" if status == "completed" else f"  [red]({status})[/red]"))
        if steps is not None and steps.size:
            short, long_ = int(steps.argmin()), int(steps.argmax())
            out.print(f"step length |(dw, db)|: smallest {fmt(steps[short], 3)} (step {short + 1}), largest "
                      f"{fmt(steps[long_], 3)} (step {long_ + 1}); where the surface is flat the steps are "
                      f"short and the dots crowd together")
        if result.explained is not None:
            out.print(f"the plane holds {result.explained:.1%} of the path's squared distance from the final "
                      f"weights; the rest is orthogonal to both directions, so the projected path is a shadow")
    else:
        out.print(f"no training path: the point marked is the {weights} weights, {c} = {fmt(loss[0], 4)}")
    low, high = _grid_range(result)
    if low is not None:
        out.print(f"{'loss' if c == 'C' else c} on the grid: {fmt(low, 4)} to {fmt(high, 4)}")
    if result.interpolation is not None:
        ts, values = result.interpolation
        out.print(f"1-D interpolation: {c} = {fmt(np.interp(0.0, ts, values), 4)} at the initial weights (t = 0), "
                  f"{fmt(np.interp(1.0, ts, values), 4)} at the final ones (t = 1), "
                  f"min {fmt(np.nanmin(values), 4)} at t = {fmt(ts[int(np.nanargmin(values))], 3)}")


class ProgressBars:
    """Progress bars for the training epochs, the grid (and gradcheck's entries), fed by the library's
    callbacks; transient, and off when the output is not a terminal."""

    def __init__(self) -> None:
        self.shown = out.is_terminal  # piped output gets no bar
        self.progress = progress_bars("{task.description}", disable=not self.shown)

    # a bar not shown is not started either: rich < 15 printed a blank line when a disabled one stopped
    def __enter__(self):
        if self.shown:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self.shown:
            self.progress.__exit__(*exc)

    def epochs(self, total: int):
        from gradlab.training import Callback

        bar = self.progress.add_task("training", total=total)
        progress = self.progress

        class EpochBar(Callback):
            def on_epoch_end(self, epoch: int) -> None:
                progress.update(bar, completed=epoch)

        return EpochBar()

    def grid(self):
        return self.task("loss grid")

    def task(self, description: str):
        """A bar of unknown length; returns the ``progress(done, total)`` callback that fills it."""
        bar = self.progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            self.progress.update(bar, completed=done, total=total)

        return update
