"""``gradlab train`` and ``gradlab schema``."""

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from gradlab.cli.common import (NameOption, OutOption, SetOption, err, examples, fmt, out, progress_bars, saved,
                                r2_label, show_table, weight_penalty, weight_penalty_formula)
from gradlab.errors import plural


class TerminalReport:
    """Training callback drawing a progress bar and a metrics row every ``log_every`` epochs."""

    def __init__(self, total_epochs: int, task: str, quiet: bool = False) -> None:
        self.task = task
        self.quiet = quiet
        self.warned: set[str] = set()
        self.progress = progress_bars("epochs", disable=quiet)
        self.bar = self.progress.add_task("train", total=total_epochs)
        score = "R^2" if task == "regression" else "acc"
        self.header = (f"{'epoch':>7} {'train loss':>12} {'test loss':>12} {'train ' + score:>10} "
                       f"{'test ' + score:>10} {'|dC/dW|':>10}")

    def __enter__(self):
        self.progress.__enter__()
        if not self.quiet:
            self.progress.console.print(f"[bold]{self.header}[/bold]")
        return self

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)

    def on_start(self, settings, columns):
        pass

    def on_epoch_end(self, epoch: int) -> None:
        self.progress.update(self.bar, completed=epoch)

    def on_log(self, row: dict[str, Any]) -> None:
        if self.quiet:
            return
        key = "r2" if self.task == "regression" else "accuracy"

        def cell(value, width, digits=6):
            return f"{'-' if value is None else fmt(value, digits):>{width}}"

        self.progress.console.print(
            f"{row['epoch']:>7} {cell(row['train_loss'], 12)} {cell(row.get('test_loss'), 12)} "
            f"{cell(row.get('train_' + key), 10, 4)} {cell(row.get('test_' + key), 10, 4)} "
            f"{cell(row['grad_norm'], 10, 4)}",
            markup=False, highlight=False,  # plain numbers: rich's number highlighting cost 0.2 ms a row
        )

    def on_warning(self, message: str) -> None:
        kind = message.split(":", 1)[1] if ":" in message else message
        kind = kind.split(" is ", 1)[0].split(":", 1)[0]  # one warning per layer and kind
        if kind in self.warned:
            return
        self.warned.add(kind)
        err.print(f"[yellow]warning:[/yellow] {message}", soft_wrap=True)  # stderr, one line: stdout holds the table


def describe(e):
    """The resolved experiment, a few lines for the panel: a two-column grid, so a long line wraps
    under its value; values are plain text (a formula's or a feature name's ``[...]`` is not markup)."""
    from rich.table import Table
    from rich.text import Text

    d, net, cfg = e.dataset, e.network, e.config
    layers = " -> ".join(str(s) for s in net.sizes)
    acts = ", ".join(repr(layer.activation) for layer in net.layers)
    schedule = cfg.optimizer.schedule
    data_name = cfg.data if isinstance(cfg.data, str) else cfg.data.get("name")
    classes = f", classes {', '.join(map(str, d.class_names))}" if d.class_names else ""
    batch = cfg.training.batch_size
    mode = "online" if batch == 1 else ("full batch" if batch == "full" else f"mini-batch {batch}")
    if isinstance(batch, int) and batch > len(e.X_train) > 1:  # the batches are cut at the data's end
        mode += f" (one batch of all {len(e.X_train)} rows)"
    # one batch per epoch: the order of its rows changes no update, so shuffling is not worth a word
    one_batch = batch == "full" or (isinstance(batch, int) and batch >= len(e.X_train))
    shuffle = "" if one_batch else f", shuffle={cfg.training.shuffle}"
    epochs = cfg.training.epochs
    if not getattr(e.optimizer, "scipy_method", None):  # cg and lbfgs take their own steps on the full batch
        # what online and batch learning differ in: one update per batch, the last one cut at the data's end
        per_epoch = 1 if one_batch else -(-len(e.X_train) // batch)
        total = "at most" if cfg.training.patience else "in all"
        mode += f", {plural(per_epoch, 'update')} an epoch ({per_epoch * epochs:,} {total})"
    rows = {
        "data": f"{data_name}: {len(e.X_train)} train / {0 if e.X_test is None else len(e.X_test)} test, "
                f"{plural(d.n_features, 'feature')} ({', '.join(d.feature_names)}), {d.task}{classes}",
        "model": f"{layers}  ({acts}), {net.n_params} parameters, {net.dtype}",
        "loss": f"{e.loss!r}: {e.loss.formula}",
        "optimizer": f"{e.optimizer!r}, schedule {schedule if isinstance(schedule, str) else repr(e.schedule)}",
        "training": f"{plural(epochs, 'epoch')}, {mode}{shuffle}, seed {cfg.seed}",
    }
    if weight_penalty(e):  # landscape draws C + R for the same weights: the table's loss must not pass for it
        rows["penalty"] = (f"C + R is minimised, {weight_penalty_formula(e)}; the train/test loss and |dC/dW| "
                           f"below are C's alone (without R)")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for key, text in rows.items():
        grid.add_row(key, Text(text))
    return grid


def final_table(history, task: str, outputs: int):
    """The last logged row's loss and accuracy (or R^2, pooled over the ``outputs`` when several)."""
    from rich.table import Table

    table = Table(title="result", show_header=True, header_style="bold")
    table.add_column("")
    table.add_column("train", justify="right")
    table.add_column("test", justify="right")
    f = history.final
    table.add_row("loss", fmt(f["train_loss"]), "-" if f.get("test_loss") is None else fmt(f["test_loss"]))
    key, label = ("r2", r2_label(outputs)) if task == "regression" else ("accuracy", "accuracy")
    tr, te = f.get(f"train_{key}"), f.get(f"test_{key}")
    table.add_row(label, "-" if tr is None else fmt(tr, 4), "-" if te is None else fmt(te, 4))
    return table


def train(
    config: Annotated[Path, typer.Argument(help="The experiment's YAML file.", show_default=False)],
    set_: SetOption = None,
    out_dir: OutOption = None,
    name: NameOption = None,
    no_plot: Annotated[bool, typer.Option("--no-plot", help="Skip the PNG plots.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the final summary.")] = False,
) -> None:
    """Train a network from a YAML experiment config; writes metrics, model and plots to a run directory."""
    from rich.markup import escape
    from rich.panel import Panel

    from gradlab.overrides import parse_overrides
    from gradlab.experiment import load_experiment
    from gradlab.runner import REPRODUCE
    from gradlab.runs import Run

    experiment = load_experiment(config, parse_overrides(set_ or []))
    run_name = name or experiment.config.name
    resolved = experiment.resolved
    run = Run.create("train", resolved, name=run_name, out=out_dir, reproduce=REPRODUCE)
    if not quiet:
        out.print(Panel(describe(experiment), title=escape(f"gradlab train {run_name or config.name}"), expand=False))
    history = train_reported(experiment, run, plots=not no_plot, quiet=quiet)
    show_table(final_table(history, experiment.settings.task, experiment.network.sizes[-1]))
    show_stop(history)
    saved(run.path)
    if history.status == "interrupted":
        raise typer.Exit(130)


def train_reported(experiment, run, plots: bool, quiet: bool):
    """Train ``experiment`` inside ``run`` (entered here) with a :class:`TerminalReport`; the History.
    Shared with ``rerun``."""
    from gradlab.runner import execute

    with run, TerminalReport(experiment.settings.epochs, experiment.settings.task, quiet) as report:
        return execute(experiment, run, [report], plots=plots)


def show_stop(history) -> None:
    """How training ended, in the colour of its status (the reason names the status itself)."""
    from rich.text import Text

    style = {"completed": "green", "diverged": "red", "interrupted": "yellow"}.get(history.status, "")
    out.print(Text(history.stop_reason, style=style))


def schema() -> None:
    """Print the JSON Schema of a training config (for editor completion)."""
    import json

    from gradlab.experiment import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


def register(app: typer.Typer) -> None:
    # examples above the options, as in every other command's help
    app.command("train", short_help=train.__doc__, help=train.__doc__ + "\n\n" + examples(
        "gradlab train configs/cat_dog.yaml",
        "gradlab train configs/xor.yaml --set optimizer.lr=0.5 --set 'model.hidden=[8]'"))(train)
    app.command("schema", short_help=schema.__doc__, help=schema.__doc__ + "\n\n" + examples(
        "gradlab schema > gradlab.schema.json"))(schema)
