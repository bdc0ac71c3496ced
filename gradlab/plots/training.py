"""Plots of a training run: loss, accuracy, per-layer gradient norms, saturation, decision boundary.

The curves plot the columns of the run's ``metrics.csv``; the decision boundary writes
its grid as ``decision_boundary.csv``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gradlab.plots import (beyond_axis, drawable, finish_axes, fits_log_axis, new_figure, note_beyond_axis, save,
                           spans_decades, write_columns)


def _column(rows: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    return np.array([np.nan if r.get(key) is None else float(r[key]) for r in rows])


def _log_if_spanning_decades(ax, values: np.ndarray) -> None:
    if spans_decades(values):
        ax.set_yscale("log")


def loss_curves(rows: Sequence[Mapping[str, Any]], path: Path, title: str = "") -> Path:
    """Train and test loss per epoch (log scale when they span more than two decades)."""
    fig, ax = new_figure()
    epochs = _column(rows, "epoch")
    shown = []
    for key, style in (("train_loss", "-"), ("test_loss", "--")):
        values = _column(rows, key)
        if np.isfinite(drawable(values)).any():  # a diverging run's last loss can be 1e307
            ax.plot(epochs, drawable(values), style, marker="." if len(rows) < 60 else None,
                    label=key.replace("_", " "))
            shown.append(values)
    values = np.concatenate(shown) if shown else np.array([])
    _log_if_spanning_decades(ax, values)  # only when every value fits a log axis
    note_beyond_axis(ax, int(beyond_axis(values).sum()))
    ax.set(xlabel="epoch", ylabel="loss", title=title or "loss")
    ax.grid(alpha=0.3)
    finish_axes(ax, "no finite loss to draw")
    return save(fig, path)


def score_curves(rows: Sequence[Mapping[str, Any]], path: Path, metric: str = "accuracy") -> Path:
    """Train and test accuracy (or R^2) per epoch."""
    fig, ax = new_figure()
    epochs = _column(rows, "epoch")
    beyond = 0
    for split, style in (("train", "-"), ("test", "--")):
        values = _column(rows, f"{split}_{metric}")
        beyond += int(beyond_axis(values).sum())  # R^2 = -1e305 when the predictions explode
        if np.isfinite(drawable(values)).any():
            ax.plot(epochs, drawable(values), style, label=f"{split} {metric}")
    note_beyond_axis(ax, beyond)
    ax.set(xlabel="epoch", ylabel=metric, title=metric)
    if metric == "accuracy":
        ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    # R^2 is undefined where the targets do not vary (a one-row split, e.g. sine with n_samples: 2)
    finish_axes(ax, f"no finite {metric} to draw" + (": the targets do not vary" if metric == "r2" else ""))
    return save(fig, path)


def gradient_norms(rows: Sequence[Mapping[str, Any]], n_layers: int, path: Path) -> Path:
    """||dC/dW_l|| per layer on a log scale: vanishing gradients show as a fan of lines
    decades apart, the input-side layers at the bottom."""
    fig, ax = new_figure()
    epochs = _column(rows, "epoch")
    norms = [_column(rows, f"grad_norm_{k}") for k in range(1, n_layers + 1)]
    for k, values in enumerate(norms, start=1):
        ax.plot(epochs, np.where(values > 0, values, np.nan), label=f"layer {k}")
    if fits_log_axis(np.concatenate(norms)):  # a diverged run's 1e200 is drawn on a linear axis
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="||dC/dW||", title="gradient norm per layer (layer 1 = input side)")
    ax.grid(alpha=0.3, which="both")
    finish_axes(ax, "no nonzero gradient norm to draw", ncol=2 if n_layers > 4 else 1)
    return save(fig, path)


def unit_health(rows: Sequence[Mapping[str, Any]], n_layers: int, path: Path) -> Path | None:
    """Per layer, the fraction of saturated (sigmoid/tanh) unit outputs, over units x samples, and of
    dead (ReLU) units; None if neither applies."""
    keys = [f"{kind}_{k}" for k in range(1, n_layers + 1) for kind in ("saturated", "dead") if f"{kind}_{k}" in rows[0]]
    if not keys:
        return None
    fig, ax = new_figure()
    epochs = _column(rows, "epoch")
    for key in keys:
        kind, k = key.rsplit("_", 1)
        ax.plot(epochs, _column(rows, key), label=f"{kind} layer {k}")
    kinds = {key.rsplit("_", 1)[0] for key in keys}  # the title names only what is drawn
    titles = {"saturated": "saturated unit outputs (f' < 1% of max, over units x samples)", "dead": "dead units"}
    title = " and ".join(text for kind, text in titles.items() if kind in kinds)
    ax.set(xlabel="epoch", ylabel="fraction", title=title, ylim=(-0.02, 1.02))
    ax.grid(alpha=0.3)
    finish_axes(ax, "no unit statistics to draw")
    return save(fig, path)


def class_colors(n_classes: int) -> np.ndarray:
    """One RGBA colour per class (tab10; tab20 beyond ten classes), the same for a class's
    region and for its points."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n_classes <= 10 else "tab20"]
    return cmap(np.arange(n_classes) % cmap.N)


def decision_boundary(
    predict_proba,
    X: np.ndarray,
    labels: np.ndarray,
    path: Path,
    *,
    feature_names: Sequence[str] = ("x1", "x2"),
    class_names: Sequence[str] = (),
    points: int = 200,
    threshold: float = 0.5,
) -> Path:
    """Predicted class regions over the data's bounding box with the samples on top.

    ``predict_proba(grid)`` maps raw 2-D points to the network output; the grid and its
    predicted class are written to ``<path>.csv``. A single output is cut at ``threshold``
    (see :func:`gradlab.training.binary_threshold`).
    """
    fig, columns = decision_figure(predict_proba, X, labels, feature_names=feature_names,
                                   class_names=class_names, points=points, threshold=threshold)
    write_columns(Path(path).with_suffix(".csv"), columns)
    return save(fig, path)


def decision_figure(predict_proba, X, labels, *, feature_names=("x1", "x2"), class_names=(), points=200,
                    threshold=0.5):
    """The figure of :func:`decision_boundary` and its grid columns (class ``c``'s region and points
    share ``class_colors(n)[c]``). The columns are named as ``gradlab predict`` names its own: the
    two features, ``predicted`` (the class name) and ``score_<class>`` per network output (a
    single output scores the second class)."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.08 * (hi - lo + 1e-12)
    g1 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], points)
    g2 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], points)
    G1, G2 = np.meshgrid(g1, g2)
    grid = np.column_stack([G1.ravel(), G2.ravel()])
    out = predict_proba(grid)
    if out.shape[1] == 1:
        score = out[:, 0]
        classes = (score > threshold).astype(int)
    else:
        score = out.max(axis=1)
        classes = out.argmax(axis=1)
    fig, ax = new_figure(size=(6.0, 5.0))
    n_classes = max(int(labels.max()) + 1, int(classes.max()) + 1, out.shape[1])
    colors = class_colors(n_classes)
    ax.contourf(G1, G2, classes.reshape(G1.shape), levels=np.arange(n_classes + 1) - 0.5, colors=colors, alpha=0.25)
    if out.shape[1] == 1:
        if score.min() < threshold < score.max():  # no line where the whole box is one class
            ax.contour(G1, G2, score.reshape(G1.shape), levels=[threshold], colors="k", linewidths=1.0)
    for c in range(int(labels.max()) + 1):
        mask = labels == c
        name = class_names[c] if c < len(class_names) else f"class {c}"
        ax.scatter(X[mask, 0], X[mask, 1], s=12, color=colors[c], label=name, edgecolors="k", linewidths=0.3)
    ax.set(xlabel=feature_names[0], ylabel=feature_names[1], title="decision boundary")
    ax.legend(loc="best", fontsize="small")
    names = [str(class_names[c]) if c < len(class_names) else str(c) for c in range(n_classes)]
    scored = names[1:2] if out.shape[1] == 1 else names[: out.shape[1]]
    columns = {feature_names[0]: grid[:, 0], feature_names[1]: grid[:, 1],
               "predicted": np.asarray(names, dtype=object)[classes],
               **{f"score_{name}": out[:, k] for k, name in enumerate(scored)}}
    return fig, columns
