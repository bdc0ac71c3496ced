"""``gradlab predict`` and ``gradlab evaluate``: a trained run applied to new data."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from gradlab.cli.common import check_output_file, examples, fmt, out, r2_label, show_table

RunArgument = Annotated[str, typer.Argument(help="A training run directory (or its id under ./runs).",
                                            show_default=False)]
DataArgument = Annotated[Path, typer.Argument(help="A CSV file with a header and the training feature columns.",
                                              show_default=False)]
DelimiterOption = Annotated[Optional[str], typer.Option(
    "--delimiter", help="The character between the cells of DATA ('\\t' for a tab). Default: the one the run's "
                        "training CSV was read with (its config's data.delimiter), else ','.", show_default=False)]


def predict(
    run: RunArgument,
    data: DataArgument,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Where to write the predictions CSV. "
                                                   "Default: <data>_predictions.csv.", show_default=False)] = None,
    delimiter: DelimiterOption = None,
) -> None:
    """Predict with a trained run's model: classes and scores (or values) for each row of a CSV."""
    import numpy as np

    from gradlab.errors import plural
    from gradlab.inference import load_model, predict as predict_rows, read_features
    from gradlab.plots import write_columns

    if output is not None:  # the default, <data>_predictions.csv, cannot be the data nor lie in a run it was not in
        check_output_file(output, ".csv", inputs=(("data file", data),))
    model = load_model(run)
    X, _ = read_features(model, data, delimiter=delimiter)
    target = output or data.with_name(f"{data.stem}_predictions.csv")
    columns = predict_rows(model, X)
    # whole or not at all: a full disk leaves the old file (or none), never half the predictions
    write_columns(target, {**{name: X[:, k] for k, name in enumerate(model.feature_names)}, **columns})
    out.print(f"{plural(len(X), 'prediction')} from {model.run_dir.name} written to {target}", markup=False,
              soft_wrap=True)
    if "predicted" in columns:
        names, counts = np.unique(columns["predicted"], return_counts=True)
        # class names are the user's ('[low]'): plain text, or rich would hide or choke on them
        out.print("predicted classes: " + ", ".join(f"{n} {c}" for n, c in zip(names, counts)), markup=False,
                  highlight=False)


def _in_the_runs_order(targets: list[str], trained: list[str]) -> list[str]:
    """The ``--target`` columns, output k's against column k: the run's own target names (``trained``)
    in another order are put in the run's, each output against the column it was trained on, and one
    of them at another output's place among other names is refused. Given as y2, y1, y3 to a run
    trained on y1, y2, y3, output y1 was scored against column y2 and shown as 'R^2 of y1 -31.5' (0.97)."""
    from gradlab.errors import InputError

    if sorted(targets) == sorted(trained):
        return trained
    misplaced = next(((k, name) for k, name in enumerate(targets) if name in trained and trained[k:k + 1] != [name]),
                     None)
    if misplaced is not None:
        k, name = misplaced
        raise InputError(f"--target: {name!r} is the run's output {trained.index(name) + 1}, given as output {k + 1} "
                         f"(the run predicts {', '.join(trained)}, in that order): give the columns in that order")
    return targets


def evaluate(
    run: RunArgument,
    data: DataArgument,
    target: Annotated[Optional[list[str]], typer.Option(
        "--target", help="The label column; repeat it for a run trained on several target columns. "
                         "Default: the label column of the run's training CSV, else target.",
                         show_default=False)] = None,
    delimiter: DelimiterOption = None,
) -> None:
    """Evaluate a trained run's model on a labelled CSV: loss and accuracy (or R^2)."""
    from gradlab.errors import plural
    from gradlab.inference import evaluate as evaluate_rows, load_model, read_features

    model = load_model(run)
    targets = _checked_targets(model, target)
    X, labels = read_features(model, data, target=targets[0] if len(targets) == 1 else targets,
                              delimiter=delimiter)
    result = evaluate_rows(model, X, labels)
    out.print(f"{model.run_dir.name} on {data} ({plural(len(X), 'row')})", markup=False, soft_wrap=True)
    show_table(_scores_table(result, model.loss, targets))


def _checked_targets(model, given: list[str] | None) -> list[str]:
    """The label columns to score the run's outputs against, output k's against column k: ``--target``
    (else the run's own), one per output of a regression run and one for a classifier, none twice nor
    a feature, in the run's order (:func:`_in_the_runs_order`); InputError naming what is wrong."""
    from gradlab.errors import InputError, plural

    targets = given or list(model.target_columns)
    outputs = model.network.sizes[-1]
    if model.task == "regression" and len(targets) != outputs:
        trained = f" ({', '.join(model.target_names)})" if model.target_names else ""
        raise InputError(f"--target: the run predicts {plural(outputs, 'target')}{trained}; give one --target per "
                         f"column, got {len(targets)} ({', '.join(targets)})")
    if model.task != "regression" and len(targets) != 1:  # read as two label columns, it blamed a class name
        raise InputError(f"--target: a classifier's labels are one column (its class names), got {len(targets)} "
                         f"({', '.join(targets)})")
    repeated = next((name for k, name in enumerate(targets) if name in targets[:k]), None)
    if repeated is not None:  # read twice, the second output was scored against the first column
        raise InputError(f"--target lists {repeated!r} twice")
    feature = next((name for name in targets if name in model.feature_names), None)
    if feature is not None:  # the file's reader blamed DATA: "column 'x1' is also the target"
        raise InputError(f"--target: column {feature!r} is one of the run's features ({', '.join(model.feature_names)})")
    return _in_the_runs_order(targets, list(model.target_names or ()))


def _scores_table(result: dict, loss, targets: list[str]):
    """evaluate's table: the loss, named with its parameters, and the accuracy or R^2 (pooled over the
    outputs, with each target's own beside it, when there are several)."""
    from rich.table import Table

    table = Table(header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row(f"loss ({loss!r})", fmt(result["loss"]))  # huber(delta=0.8), as train's panel names it
    if "accuracy" in result:
        table.add_row("accuracy", fmt(result["accuracy"], 4))
    if "r2" in result:  # nan when the targets leave no variance to explain
        r2 = result["r2"]
        several = "r2_outputs" in result
        table.add_row(r2_label(len(result["r2_outputs"]) if several else 1),
                      fmt(r2, 4) if r2 == r2 else  # one row of y1 = 1, y2 = 2: not equal, each constant
                      f"undefined ({'each target is constant' if several else 'the targets are all equal'})")
        if several:  # the pooled value leans to the widest target: each one's own, as r2_score gives them
            for name, value in zip(targets, result["r2_outputs"]):
                table.add_row(f"R^2 of {name}", fmt(value, 4) if value == value else "undefined (the target is constant)")
    return table


def register(app: typer.Typer) -> None:
    # examples above the options, as in every other command's help
    app.command("predict", short_help=predict.__doc__, help=predict.__doc__ + "\n\n" + examples(
        "gradlab predict runs/<run> configs/animals.csv -o predictions.csv"))(predict)
    app.command("evaluate", short_help=evaluate.__doc__, help=evaluate.__doc__ + "\n\n" + examples(
        "gradlab evaluate runs/<run> configs/animals.csv --target target"))(evaluate)
