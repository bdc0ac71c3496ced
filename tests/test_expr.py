import subprocess
import sys

import numpy as np
import pytest

from gradlab.errors import InputError
from gradlab.expr import FUNCTIONS, parse, vet
from tests.conftest import subprocess_env

UNSAFE = [
    "__import__('os').system('touch MARKER')",
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "open('MARKER', 'w')",
    "lambda: 1",
    "'a'",
    "x.real",
    "eval('1')",
    "exec('x = 1')",
    "[c for c in 'ab']",
    "(z := 1)",
    "x[0]",
    "globals()",
    "log(x, base=2)",
    "exp(*[x])",
    "x if x else 1",
    "x < 1",
    "True",
    "1j",
    "f'{x}'",
    "x; import os",
]


@pytest.mark.parametrize("text", UNSAFE)
def test_unsafe_text_is_refused_naming_the_piece(text):
    with pytest.raises(InputError, match=r"^f: ") as info:
        vet(text)
    message = str(info.value)
    assert "not allowed" in message or "unknown" in message or "only" in message or "not a formula" in message


def test_refusal_happens_before_sympy_is_even_imported():
    code = (
        "import sys\n"
        "from gradlab.expr import parse\n"
        "from gradlab.errors import InputError\n"
        "assert 'sympy' not in sys.modules\n"
        "try:\n"
        "    parse(\"__import__('os').system('touch MARKER')\")\n"
        "except InputError as e:\n"
        "    print('REFUSED', e)\n"
        "print('SYMPY', 'sympy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(),
                          check=True)
    assert "REFUSED f: " in done.stdout
    assert "SYMPY False" in done.stdout


@pytest.mark.parametrize(("text", "fragment"), [
    ("x**2 + z", "unknown name 'z'"),
    ("sin", "f: sin is a function; call it on an argument, e.g. sin(x)"),  # not "did you mean 'sin'?"
    ("sigmod(x)", "did you mean 'sigmoid'"),
    ("x^2", "for a power write x**2"),
    ("exp(x, 2)", "exp takes 1 argument, got 2"),
    ("1/0", "undefined constant"),
    ("2**10**10", "not a finite real number"),  # would be a 3-billion-digit integer if folded exactly
    ("1e400*x", "too large for float64"),
    ("x + " + "9" * 1500, "is too large for float64"),  # an int no float can hold: no OverflowError
    ("sqrt(-1)*x**2", "f: sqrt(-1) is not a real number (it is I); gradlab works on real functions"),
    ("x**2 + log(-1)", "f: log(-1) is not a real number (it is I*pi)"),
    ("sqrt(-4)*x**2", "f: sqrt(-4) is not a real number (it is 2*I)"),
    ("acos(2)*x", "f: acos(2) is not a real number; gradlab"),
    # (-1)**x is real at whole numbers only; its derivative (-1)**x*I*pi nowhere (was a ComplexWarning)
    ("(-1)**x + x**2", "f: '(-1)**x + x**2' is not a real function: dy/dx = (-1)**x*I*pi + 2*x contains the "
                       "imaginary unit I (from (-1)**x: a negative number raised to a non-constant power); "
                       "gradlab works on real functions"),
    ("(-2)**x", "dy/dx = (-2)**x*(log(2) + I*pi) contains the imaginary unit I (from (-2)**x"),
    ("(-1)**(x/2)", "dy/dx = (-1)**(x/2)*I*pi/2 contains the imaginary unit I"),
    ("x**2 + (-1)**y", "df/dy = (-1)**y*I*pi contains the imaginary unit I"),
    # Python's literal forms are not the README's numbers: a config refuses 1_0 and 0x10, and so does f
    ("x**2 + 1_0", "f: the number '1_0' is not in ASCII decimal or scientific notation; write e.g. 10, 0.5 or 1e-3"),
    ("0x10*x", "f: the number '0x10' is not in ASCII decimal"),
    ("x + 0o17", "f: the number '0o17' is not in ASCII decimal"),
    ("x**0b10", "f: the number '0b10' is not in ASCII decimal"),
    # Python's own advice here, "use an 0o prefix", names a form refused above
    ("x**2 + 017", "f: not a formula at column 8: 'x**2 + 017' (a whole number cannot start with 0 in a "
                   "formula: write 17, not 017)"),
    ("((x", "not a formula"),
    ("-" * 150 + "x", "nested more than"),
    ("x" * 3000, "characters long"),
    ("", "expected a formula"),
])
def test_bad_formulas_get_precise_messages(text, fragment):
    with pytest.raises(InputError) as info:
        parse(text)
    assert fragment in str(info.value)


def test_abs_is_printed_as_it_is_written():
    # sympy's own str form is Abs(x), a name the formula language does not have
    f = parse("abs(x - 1) + 0.5*x")
    assert f.formula == "0.5*x + abs(x - 1)"
    assert f.derivative_lines() == ["dy/dx = sign(x - 1) + 0.5"]


@pytest.mark.parametrize(("text", "formula"), [
    ("x + 1e3", "x + 1000.0"), ("x + .5", "x + 0.5"), ("x + 5.", "x + 5.0"), ("x + 1E-3", "x + 0.001"),
    ("x + 0017.5", "x + 17.5"), ("x + 00", "x"),
])
def test_decimal_and_scientific_numbers_are_read(text, formula):
    assert parse(text).formula == formula


@pytest.mark.parametrize(("text", "derivative"), [
    ("(-1)**2*x**2", "dy/dx = 2*x"),  # a negative base with a constant power is folded to a real number
    ("(x-1)**3", "dy/dx = 3*(x - 1)**2"),
    ("x**0.5", "dy/dx = 0.5/x**0.5"),  # no real value at x < 0 is the start point's check, not the formula's
])
def test_real_formulas_with_negative_bases_or_powers_still_parse(text, derivative):
    f = parse(text)
    assert f.derivative_lines() == [derivative]
    assert f.hessian_sym  # the Hessian passes the same check


def test_default_function_derivative_and_values():
    f = parse("x**2 - 4*x + 6")
    assert f.variables == ("x",) and f.n_vars == 1
    assert f.formula == "x**2 - 4*x + 6"
    assert f.derivative_lines() == ["dy/dx = 2*x - 4"]
    assert f.second_derivative_lines() == ["d2y/dx2 = 2"]
    assert f.value([8.0]) == 38.0  # 64 - 32 + 6
    assert f.gradient([8.0]).tolist() == [12.0]  # 2*8 - 4
    assert f.hessian([8.0]).tolist() == [[2.0]]


def test_two_variables_rosenbrock_gradient_and_hessian():
    f = parse("(1-x)**2 + 100*(y-x**2)**2")
    assert f.variables == ("x", "y")
    assert f.value([1.0, 1.0]) == 0.0
    # d/dx = -2(1-x) - 400 x (y - x^2) = -2*2.5 - 400*(-1.5)*(2-2.25) = -5 - 150 = -155
    np.testing.assert_allclose(f.gradient([-1.5, 2.0]), [-155.0, -50.0])
    np.testing.assert_allclose(f.hessian([1.0, 1.0]), [[802.0, -400.0], [-400.0, 200.0]])
    assert [line.split(" = ")[0] for line in f.derivative_lines()] == ["df/dx", "df/dy"]


def test_decimal_literals_print_as_written_and_evaluate_exactly():
    f = parse("0.1*x**2 - 0.3*x")
    assert f.derivative_lines() == ["dy/dx = 0.2*x - 0.3"]
    assert f.gradient([1.0])[0] == pytest.approx(0.2 - 0.3, abs=1e-15)


@pytest.mark.parametrize("name", sorted(set(FUNCTIONS) - {"abs", "relu"}))
def test_every_function_gradient_matches_central_differences(name):
    f = parse(f"{name}(x/3 + 0.2)")  # 0.2 < x/3 + 0.2 < 0.6 keeps arcsin, log... in their domains
    for x in (0.1, 0.5, 1.0):
        h = 1e-6
        numeric = (f.value([x + h]) - f.value([x - h])) / (2 * h)
        assert f.gradient([x])[0] == pytest.approx(numeric, rel=1e-6, abs=1e-9)
        numeric2 = (f.gradient([x + h])[0] - f.gradient([x - h])[0]) / (2 * h)
        assert f.hessian([x])[0, 0] == pytest.approx(numeric2, rel=1e-5, abs=1e-8)


def test_kinked_functions_away_from_the_kink():
    f = parse("abs(x) + relu(x)")
    assert f.gradient([-2.0])[0] == -1.0
    assert f.gradient([3.0])[0] == 2.0
    assert f.hessian([3.0])[0, 0] == 0.0  # the Dirac delta at 0 is dropped


def test_stable_forms_never_overflow():
    f = parse("sigmoid(x) + softplus(x)")
    assert f.value([-1000.0]) == 0.0
    assert f.value([1000.0]) == pytest.approx(1001.0)
    assert f.gradient([1000.0])[0] == pytest.approx(1.0)
    assert np.all(np.isfinite(f.values(np.array([-800.0, 0.0, 800.0]))))


def test_sigmoid_derivatives_keep_their_digits_in_the_saturated_tail():
    # sigma' = sigma(x) sigma(-x): the old s (1 - s) cancelled (3.8e-8 rel at x = 20, 0 at x = 40).
    # References: mpmath at 50 digits, mp.diff(lambda x: 1/(1 + mp.exp(-x)), x, n) for n = 1, 2
    f = parse("sigmoid(x)")
    for x, first, second in [(20.0, 2.061153613941849e-09, -2.061153605445141e-09),
                             (40.0, 4.248354255291589e-18, -4.248354255291589e-18),
                             (-40.0, 4.248354255291589e-18, 4.248354255291589e-18)]:
        assert f.gradient([x])[0] == pytest.approx(first, rel=1e-15, abs=0)
        assert f.hessian([x])[0, 0] == pytest.approx(second, rel=1e-15, abs=0)
    # computed as sigma(x) sigma(-x), printed as the textbook writes it
    assert f.derivative_lines() == ["dy/dx = (1 - sigmoid(x))*sigmoid(x)"]
    assert parse("sigmoid(x)**2").derivative_lines() == ["dy/dx = 2*(1 - sigmoid(x))*sigmoid(x)**2"]
    assert parse("sigmoid(x)*sigmoid(-x)").formula == "sigmoid(-x)*sigmoid(x)"  # the formula as given


def test_out_of_domain_and_overflow_give_nan_and_inf_without_warnings():
    assert np.isnan(parse("log(x)").value([-1.0]))
    assert parse("x**2").value([1e200]) == np.inf
    assert parse("exp(x)").gradient([1e4])[0] == np.inf


def test_constant_function_fills_a_grid():
    f = parse("3")
    assert f.values(np.zeros((2, 3))).tolist() == [[3.0] * 3] * 2
    assert f.gradient([5.0]).tolist() == [0.0]


def test_a_formula_whose_second_derivative_exhausts_sympy_is_bad_input():
    # a 55-level power tower parses and differentiates once, but f'' recurses past Python's limit
    tower = parse("**".join(["x"] * 55))
    with pytest.raises(InputError, match="f: its second derivative nests too deeply for sympy to handle"):
        tower.hessian_sym


def test_the_unbounded_value_is_none_where_f_has_no_real_value():
    # mpmath raises at a pole, and relu's max() of a complex value: a probe must not crash descend
    assert parse("1/x").value_unbounded([0.0]) is None
    assert parse("relu(log(x))").value_unbounded([-1.0]) is None
    assert float(parse("exp(x)").value_unbounded([-1000.0])) == 0.0  # 5.1e-435 in mpmath: below float64
    assert parse("exp(x)").value_unbounded([-1000.0]) > 0


def test_precise_derivatives_keep_what_float64_rounds_away():
    # float64: tanh(-20) = -1, so 1 - tanh^2 = 0 and f'' = -2 tanh (1 - tanh^2) = 0; exactly 4 e^-40 and 8 e^-40
    tanh = parse("tanh(x)")
    assert (tanh.gradient([-20.0])[0], tanh.hessian([-20.0])[0, 0]) == (0.0, 0.0)
    (g,), ((h,),) = tanh.derivatives_precise([-20.0])
    assert (float(g), float(h)) == pytest.approx((1.6993417021166355e-17, 3.398683404233271e-17), rel=1e-14)
    # relu's step and abs's sign, and the derivatives beyond float64's range
    assert parse("relu(x) + abs(y)").derivatives_precise([-1.0, -2.0]) == ([0, -1], [[0, 0], [0, 0]])
    (g,), _ = parse("exp(x)").derivatives_precise([-1000.0])
    assert float(g) == 0.0 and g > 0
    assert parse("sqrt(x)").derivatives_precise([-1.0]) is None  # no real value


def test_rounding_counts_the_terms_a_formula_cancels():
    eps = np.finfo(float).eps
    expanded = parse("x**4 - 4*x**3 + 6*x**2 - 4*x + 1")  # (x - 1)^4: 0 at 1, from terms up to 6
    assert expanded.value([1.0]) == 0.0 and expanded.rounding([1.0]) > 16 * eps
    assert parse("(x - 1)**4").rounding([1.0]) == 0.0  # nothing cancels: exact
    assert 0 < parse("-x**4 - y**4").rounding([1e-8, 1e-8]) < 10 * eps * 2e-32  # about eps |f|
    assert parse("sqrt(x)").rounding([0.0]) == float("inf")  # the slope magnifies x's rounding without bound
