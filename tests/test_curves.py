"""The facts `gradlab plot` prints, computed from the functions: peaks, plateaus, flat tails."""

import math

import numpy as np
import pytest

from gradlab import curves


def facts(spec, lo=-10.0, hi=10.0, points=1000):
    study = curves.study_activations(curves.resolve_curves([spec]), lo, hi, points)
    return study.facts[study.curves[0].key]


# sigma'(z) = s (1 - s) = 1% of 1/4  =>  s = (1 + sqrt(0.99)) / 2,  z = ln(s / (1 - s)) = 5.9869
SIGMOID_SATURATED = math.log((1 + math.sqrt(0.99)) / (1 - math.sqrt(0.99)))


def test_sigmoid_and_tanh_saturate_where_the_algebra_says():
    s = facts("sigmoid")
    assert s.max_derivative == 0.25 and s.peak_at == (0.0, 0.0)  # sigma'(0) = 1/4 exactly, not 1/4 + 1 ulp
    assert s.flat_above == pytest.approx(SIGMOID_SATURATED, abs=1e-4) and s.threshold == 0.0025
    assert s.flat_below == -s.flat_above  # flat at both ends: saturation
    t = facts("tanh")
    assert t.max_derivative == 1.0 and t.peak_at == (0.0, 0.0)
    assert t.flat_above == pytest.approx(math.atanh(math.sqrt(0.99)), abs=1e-4) == -t.flat_below


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_plot_calls_saturated_what_training_counts_as_saturated(name):
    """One definition: plot said sigmoid saturates for |z| > 4.58 (f' < 0.01) while training's
    saturated_k counts f' < 1% of the peak (|z| > 5.99), so a unit at z = 5 was saturated in the
    plot and not in train. Now the plot's edge is where the training diagnostics switch."""
    from gradlab.engine.activations import activations
    from gradlab.engine.diagnostics import saturated_fractions
    from gradlab.engine.layers import Dense
    from gradlab.engine.network import Network

    edge = facts(name).flat_above
    # one unit, weight 1, bias 0: z = x, just inside, just outside the plot's flat tails, and z = 5
    network = Network([Dense(np.ones((1, 1)), np.zeros(1), activations.create(name))])
    for z, saturated in [(edge - 1e-3, 0.0), (edge + 1e-3, 1.0), (-edge - 1e-3, 1.0)]:
        network.forward(np.array([[z]]))
        assert saturated_fractions(network) == [saturated], z
    network.forward(np.array([[5.0]]))
    assert (saturated_fractions(network) == [1.0]) == (5.0 > edge)  # sigmoid: not saturated at 5 in either


def test_kinks_plateaus_and_dead_zones():
    relu = facts("relu")
    assert relu.flat_below == 0.0 and relu.flat_above is None  # the jump found by bisection
    assert relu.max_derivative == 1.0 and relu.peak_at == (0.0, 10.0)  # a plateau: z > 0
    hard = facts("hard_sigmoid")
    assert (hard.flat_below, hard.flat_above) == (-3.0, 3.0)
    assert hard.max_derivative == pytest.approx(1 / 6)
    step = facts("step")
    assert step.flat_everywhere and step.max_derivative == 0.0
    assert facts("leaky_relu:alpha=0.1").flat_below is None  # alpha = 0.1 > 1% of the peak 1


@pytest.mark.parametrize("lo, hi, points", [(-100.0, 100.0, 10), (-1e6, 1e6, 1000), (-1e6, 1e6, 2)])
def test_a_coarse_or_wide_grid_does_not_step_over_the_peak(lo, hi, points):
    # 10 points on [-100, 100] see sigmoid only at |z| >= 11, where sigma' < 2e-5: the facts
    # must still say sigma'(0) = 1/4 and saturation at |z| > 5.99, not "no gradient anywhere"
    s = facts("sigmoid", lo, hi, points)
    assert s.max_derivative == 0.25 and s.peak_at == (0.0, 0.0)
    assert not s.flat_everywhere
    assert s.flat_above == pytest.approx(SIGMOID_SATURATED, abs=1e-4) and s.flat_below == -s.flat_above


def test_peaks_inside_and_at_the_end_of_the_range():
    gelu = facts("gelu")  # f'' = phi(z) (2 - z^2): the peak is at sqrt(2)
    assert gelu.peak_at[0] == pytest.approx(math.sqrt(2), abs=1e-4)
    softplus = facts("softplus")  # f' = sigma(z) grows: largest at the right end
    assert softplus.peak_at == (10.0, 10.0)
    swish = facts("swish")  # f' crosses 0 near z = -1.28: a flat patch in the middle is not a tail
    assert swish.flat_above is None and swish.flat_below < -5


@pytest.mark.parametrize(("spec", "lo", "hi", "peak_at", "ends"), [
    # the plateau ended at the grid's first point past the kink (0.006 on [-6, 6], 0.01 on
    # [-10, 10]) and at the range's end: 'z in [0.006, 6]' for the fact z > 0
    ("relu", -6.0, 6.0, (0.0, 6.0), (curves.OPEN, curves.RANGE_END)),
    ("leaky_relu", -10.0, 10.0, (0.0, 10.0), (curves.OPEN, curves.RANGE_END)),
    ("leaky_relu:alpha=2", -10.0, 10.0, (-10.0, 0.0), (curves.RANGE_END, curves.OPEN)),  # f' = 2 for z < 0
    ("hard_sigmoid", -10.0, 10.0, (-3.0, 3.0), (curves.OPEN, curves.OPEN)),  # was [-2.993, 2.993]
    ("elu", -10.0, 10.0, (0.0, 10.0), (curves.CLOSED, curves.RANGE_END)),  # alpha = 1: f' = 1 at 0 too, no jump
    ("elu:alpha=0.5", -10.0, 10.0, (0.0, 10.0), (curves.OPEN, curves.RANGE_END)),  # f' jumps from 0.5 to 1
    ("relu", -100.0, 100.0, (0.0, 100.0), (curves.OPEN, curves.RANGE_END)),  # 10 points, 22 apart
    ("identity", -10.0, 10.0, (-10.0, 10.0), (curves.RANGE_END, curves.RANGE_END)),
    ("sigmoid", -6.0, 6.0, (0.0, 0.0), (curves.CLOSED, curves.CLOSED)),  # a peak inside stays a point
    ("softplus", -6.0, 6.0, (6.0, 6.0), (curves.CLOSED, curves.RANGE_END)),  # still rising where the plot ends
])
def test_a_plateau_ends_at_a_kink_or_runs_on_past_the_range_not_at_a_grid_point(spec, lo, hi, peak_at, ends):
    f = facts(spec, lo, hi, 10 if hi == 100.0 else 1000)
    assert (f.peak_at, f.peak_ends) == (peak_at, ends)


def test_samples_are_the_preset_points_inside_the_range():
    np.testing.assert_array_equal(curves.sample_points(-10, 10), [-10, -4.6, -2, 0, 2, 4.6, 10])
    np.testing.assert_array_equal(curves.sample_points(-3, 3), [-3, -2, 0, 2, 3])
    np.testing.assert_array_equal(curves.sample_points(-1, 1), np.linspace(-1, 1, 7))  # too few: 7 even


def test_finite_difference_helpers():
    z = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(curves.forward_difference(np.square, z, 1e-3), 2 * z + 1e-3, atol=1e-12)
    np.testing.assert_allclose(curves.central_difference(np.square, z, 1e-3), 2 * z, atol=1e-12)


def test_sample_table_has_one_row_per_point_and_one_column_per_function():
    study = curves.study_activations(curves.resolve_curves(["sigmoid", "relu"]), -10, 10, 201, derivative=True)
    table = study.samples
    assert table.header == ["z", "sigmoid", "sigmoid'", "relu", "relu'"]
    assert [row[0] for row in table.rows] == [-10, -4.6, -2, 0, 2, 4.6, 10]
    assert table.rows[3] == [0.0, 0.5, 0.25, 0.0, 0.0]
    assert table.rows[4][1:3] == pytest.approx([1 / (1 + math.exp(-2)), math.exp(-2) / (1 + math.exp(-2)) ** 2])


@pytest.mark.parametrize("name", ["mse", "bce", "cross_entropy", "hinge", "multiclass_hinge", "huber"])
def test_a_loss_curve_is_each_points_own_batch_of_one(name):
    """The vectorised curve is the loss of one sample per point, as the batch mean of that sample says."""
    from gradlab.engine.losses import losses

    curve = curves.LossCurve(name, name, losses.create(name), target=1.0)
    u = np.array([-30.0, -1.0, 0.0, 0.25, 0.5, 0.999, 1.0, 3.0, 30.0])
    if curve.reads == "probability":
        u = np.clip(u, 1e-12, 1 - 1e-12)
    y, pred = curve._batch(u)
    one_by_one = [curve.loss.value(y[i : i + 1], pred[i : i + 1]) for i in range(len(u))]
    np.testing.assert_array_equal(curve.value(u), one_by_one)
