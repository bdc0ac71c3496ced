import csv
import errno
import functools
import io
import os

import numpy as np
import pytest

from gradlab.errors import RunFailure, Terminated
from gradlab.plots import new_figure, save, write_columns

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_save_png_and_columns(tmp_path):
    fig, ax = new_figure()
    ax.plot([0, 1], [1, 0])
    png = save(fig, tmp_path / "a.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    path = write_columns(tmp_path / "a.csv", {"z": [0.0, 0.1], "value": [1.0, 0.9]})
    rows = list(csv.DictReader(path.open()))
    assert rows == [{"z": "0.0", "value": "1.0"}, {"z": "0.1", "value": "0.9"}]


def _stops_part_way(error):
    """A stand-in for the Agg canvas's print_png that writes a PNG's first bytes, then raises ``error``:
    what Ctrl-C, SIGTERM or a full disk leaves while matplotlib writes the file."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    real = FigureCanvasAgg.print_png

    @functools.wraps(real)  # its signature: matplotlib passes a print method only the options it takes
    def print_png(self, target, *args, **kwargs):
        if isinstance(target, io.BytesIO):  # the constrained layout's draw in memory before the file is written
            return real(self, target, *args, **kwargs)
        if isinstance(target, (str, os.PathLike)):
            with open(target, "wb") as handle:
                handle.write(PNG_SIGNATURE)
        else:
            target.write(PNG_SIGNATURE)
        raise error
    return print_png


@pytest.mark.parametrize("error, raised", [
    (Terminated(), Terminated),
    (KeyboardInterrupt(), KeyboardInterrupt),
    (OSError(errno.ENOSPC, "No space left on device"), RunFailure),
])
@pytest.mark.parametrize("existing", [False, True])
def test_a_save_stopped_part_way_leaves_no_cut_png_and_no_temporary_file(tmp_path, monkeypatch, error, raised,
                                                                         existing):
    # the PNG was written straight to its path: SIGTERM during the save left an 8-byte heatmap.png
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    png = tmp_path / "heatmap.png"
    fig, ax = new_figure()
    ax.plot([0, 1], [1, 0])
    if existing:
        save(fig, png)
    before = png.read_bytes() if existing else None
    monkeypatch.setattr(FigureCanvasAgg, "print_png", _stops_part_way(error))
    with pytest.raises(raised) as caught:
        save(fig, png)
    if raised is RunFailure:
        assert str(caught.value) == f"cannot write {png}: No space left on device"
    assert [p.name for p in tmp_path.iterdir()] == (["heatmap.png"] if existing else [])  # no temporary file
    assert (png.read_bytes() == before and len(before) > 1000) if existing else not png.exists()
    monkeypatch.undo()
    ax.plot([0, 1], [0, 1])
    assert save(fig, png) == png and png.read_bytes()[:8] == PNG_SIGNATURE and png.read_bytes() != before
    assert [p.name for p in tmp_path.iterdir()] == ["heatmap.png"]


def test_decision_regions_and_points_of_a_class_share_its_colour():
    from matplotlib.collections import PathCollection
    from matplotlib.contour import ContourSet

    from gradlab.plots.training import class_colors, decision_figure

    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [0.5, 2.0], [2.5, 1.5], [1.5, 0.5]])
    labels = np.array([0, 0, 1, 1, 2, 2])

    def by_third(grid):  # class 0 left, 1 middle, 2 right of the x1 range: all three regions on the grid
        k = np.clip(((grid[:, 0] + 0.2) / 1.0).astype(int), 0, 2)
        return np.eye(3)[k]

    fig, columns = decision_figure(by_third, X, labels, points=30, class_names=("cat", "dog", "fox"))
    ax = fig.axes[0]
    regions = next(c for c in ax.collections if isinstance(c, ContourSet))
    dots = [c for c in ax.collections if isinstance(c, PathCollection) and not isinstance(c, ContourSet)]
    expected = class_colors(3)[:, :3]
    np.testing.assert_allclose(regions.get_facecolor()[:, :3], expected)
    np.testing.assert_allclose([d.get_facecolor()[0, :3] for d in dots], expected)
    # named as predict names its columns: the class by name, a score per class
    assert set(columns["predicted"]) == {"cat", "dog", "fox"}
    assert list(columns)[2:] == ["predicted", "score_cat", "score_dog", "score_fox"]


@pytest.mark.parametrize(("threshold", "class_1_share"), [(0.0, 0.5), (0.5, 0.25)])
def test_a_single_output_is_cut_at_the_threshold_its_loss_implies(threshold, class_1_share):
    from gradlab.plots.training import decision_figure

    # the output is x1 itself, on a box from -1 to 1: class 1 right of x1 = threshold
    X = np.array([[-1.0, 0.0], [1.0, 1.0]])
    _, columns = decision_figure(lambda grid: grid[:, :1], X, np.array([0, 1]), points=201, threshold=threshold)
    inside = np.abs(columns["x1"]) <= 1
    assert np.mean(columns["predicted"][inside] == "1") == pytest.approx(class_1_share, abs=0.01)
    assert list(columns)[2:] == ["predicted", "score_1"]  # a single output scores the second class


def test_a_log_axis_is_chosen_only_for_values_it_can_draw(tmp_path):
    from gradlab.plots import fits_log_axis, spans_decades

    assert spans_decades([1.0, 1e3]) and not spans_decades([1.0, 50.0])
    assert fits_log_axis([1e-150, 1e150, -5.0, np.nan]) and not fits_log_axis([1.0, 1e151])
    assert not spans_decades([1.0, 1e282])  # matplotlib's log ticks overflow there: a linear axis instead


@pytest.mark.parametrize("lr", ["1e140", "1e150"])
def test_descend_draws_a_run_that_jumps_to_1e280(cli, tmp_path, lr):
    # f = x^2 from 8: one step to x = 8 - lr * 16, f ~ 1e282: the log axis of 'f per step' raised
    # 'RuntimeWarning: overflow encountered in power', then 'internal error: OverflowError'
    result = cli("descend", "--f", "x**2", "--lr", lr, "--out", tmp_path / "runs")
    assert result.code == 0 and result.err == "", result.err
    assert "diverged at step 1" in result.out


def test_values_near_the_float_maximum_are_left_out_of_curves_and_said_so(tmp_path, monkeypatch):
    # a loss of 1.7e308 beside one of 1: the axis margin overflowed ('overflow encountered in scalar subtract')
    from gradlab.plots import beyond_axis, drawable, training

    notes = []
    monkeypatch.setattr(training, "note_beyond_axis", lambda ax, count, scale="linear": notes.append(count))
    rows = [{"epoch": 0, "train_loss": 1.0, "test_loss": 9e307, "train_r2": -1.7e308, "test_r2": 0.5},
            {"epoch": 1, "train_loss": 1.7e308, "test_loss": 1.0, "train_r2": 0.1, "test_r2": 0.2}]
    assert training.loss_curves(rows, tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert training.score_curves(rows, tmp_path / "r2.png", metric="r2").read_bytes()[:4] == b"\x89PNG"
    assert notes == [2, 1]
    values = [1e300, -1e301, 1e150, 1e151, 1e-151, -5.0, np.inf, np.nan]
    assert beyond_axis(values).tolist() == [False, True, False, False, False, False, False, False]
    assert beyond_axis(values, "log").tolist() == [True, False, False, True, True, False, False, False]  # -1e301 <= 0
    assert beyond_axis(values, "symlog").tolist() == [True, True, False, True, False, False, False, False]
    np.testing.assert_array_equal(drawable(values), [1e300, np.nan, 1e150, 1e151, 1e-151, -5.0, np.nan, np.nan])


@pytest.mark.parametrize(("columns", "title"), [
    (("saturated_1",), "saturated unit outputs (f' < 1% of max, over units x samples)"),  # cat_dog: no dead units
    (("dead_1", "dead_2"), "dead units"),
    (("saturated_1", "dead_2"), "saturated unit outputs (f' < 1% of max, over units x samples) and dead units"),
])
def test_the_unit_plot_is_titled_by_the_curves_it_draws(tmp_path, monkeypatch, columns, title):
    from gradlab.plots import training

    figures = []
    monkeypatch.setattr(training, "save", lambda fig, path: figures.append(fig) or path)
    rows = [{"epoch": e, **{c: 0.25 * e for c in columns}} for e in range(3)]
    training.unit_health(rows, 2, tmp_path / "units.png")
    assert figures[0].axes[0].get_title() == title


def test_columns_longer_than_a_block_are_written_whole_and_in_order(tmp_path, monkeypatch):
    from gradlab import plots

    monkeypatch.setattr(plots, "_ROWS_AT_ONCE", 3)
    z = np.linspace(0.0, 1.0, 10)
    path = write_columns(tmp_path / "a.csv", {"z": z, "label": np.array(list("abcdefghij"), dtype=object)})
    rows = list(csv.DictReader(path.open()))
    assert [float(r["z"]) for r in rows] == z.tolist() and "".join(r["label"] for r in rows) == "abcdefghij"


def test_a_long_curve_is_drawn_through_each_bins_extremes_and_keeps_its_gaps():
    from gradlab.plots import thin

    x = np.arange(100_000.0)
    y = np.sin(x / 500.0)
    y[20_000:30_000] = np.nan  # a gap: values an axis cannot draw
    y[77_777] = 5.0  # a spike a pixel must still show
    xs, ys = thin(x, y, bins=1000)
    assert len(xs) == 2000 and np.all(np.diff(xs) >= 0)  # in order (an all-nan run gives one point twice)
    assert ys[np.isfinite(ys)].max() == 5.0 and 77_777.0 in xs
    assert np.isnan(ys[(xs >= 20_000) & (xs < 30_000)]).all()
    assert np.nanmin(ys) == pytest.approx(-1.0, abs=1e-4)
    short = np.arange(10.0)
    assert thin(short, short)[0] is short  # a short curve is drawn as it is


def test_a_png_replaces_a_symbolic_link_rather_than_writing_through_it(tmp_path):
    # written through, a link beside the output could lead into a run: plot --output link.png wrote link.csv
    # through a link to a run's metrics.csv (a bad-input review); the file written is always in the folder checked
    (tmp_path / "run").mkdir()
    target, link = tmp_path / "run" / "metrics.png", tmp_path / "link.png"
    target.write_bytes(b"the run's own")
    link.symlink_to(target)
    fig, ax = new_figure()
    ax.plot([0, 1], [1, 0])
    save(fig, link)
    assert not link.is_symlink() and link.read_bytes()[:8] == PNG_SIGNATURE
    assert target.read_bytes() == b"the run's own"
