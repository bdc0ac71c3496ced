"""Safe parsing of a function of ``x`` (or ``x`` and ``y``) given as text.

The text is parsed with :mod:`ast` and every node is checked against a whitelist
*before* anything is built or evaluated: numbers, the variables ``x`` and ``y``, the
constants ``pi`` and ``e``, ``+ - * / **``, unary ``+``/``-``, parentheses and calls
of the functions in :data:`FUNCTIONS`. Attribute access, other names, strings,
subscripts, lambdas, keywords, comprehensions ... are refused with an
:class:`~gradlab.errors.InputError` that quotes the offending piece.

The sympy expression is then assembled node by node from the vetted tree (never with
``sympify``/``parse_expr``, which ``eval`` their input), differentiated symbolically,
and turned into NumPy functions with ``sympy.lambdify``. sympy is imported only here,
and only when :func:`parse` is called.

Examples
--------
>>> f = parse("x**2 - 4*x + 6")
>>> f.derivative_lines()
['dy/dx = 2*x - 4']
>>> float(f.value([8.0])), f.gradient([8.0]).tolist()
(38.0, [12.0])
"""

from __future__ import annotations

import ast
import contextlib
import functools
import math
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradlab.errors import InputError, did_you_mean
from gradlab.registry import NUMBER_TEXT

VARIABLES = ("x", "y")
CONSTANTS = ("pi", "e")
#: Function names a user may call, each with one argument. Aliases map to the same function.
FUNCTIONS = (
    "exp", "log", "ln", "log2", "log10", "sqrt", "abs",
    "sin", "cos", "tan", "arcsin", "asin", "arccos", "acos", "arctan", "atan",
    "sinh", "cosh", "tanh", "sigmoid", "softplus", "relu",
)
MAX_LENGTH = 2000  # characters of expression text
MAX_DEPTH = 100  # nesting of the syntax tree; keeps the recursive build far from Python's limit
MAX_EXACT_EXPONENT = 64  # constant powers above this are folded in floating point, never as huge integers
PRECISE_DIGITS = 50  # significant digits of Expression.value_precise (float64 has about 16)

#: the operators a formula may use, and what each builds (``**`` goes through :meth:`_Builder._power`,
#: which folds a constant power without building a giant integer)
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
# Friendly names for the node types people actually try; anything else is named by its class.
_REFUSED = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambda",
    ast.NamedExpr: "assignment ':='",
    ast.Compare: "comparisons",
    ast.BoolOp: "'and'/'or'",
    ast.IfExp: "conditional expressions",
    ast.Tuple: "tuples",
    ast.List: "lists",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.Starred: "starred arguments",
    ast.JoinedStr: "f-strings",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}


def vet(text: str) -> ast.Expression:
    """Parse ``text`` and check every node against the whitelist; evaluate nothing.

    Returns
    -------
    ast.Expression
        The tree, safe to hand to :func:`parse`'s builder.

    Raises
    ------
    InputError
        ``f: ...`` naming the first offending piece of the text.
    """
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"f: expected a formula in x (or x and y), e.g. 'x**2 - 4*x + 6', got {text!r}")
    if len(text) > MAX_LENGTH:
        raise InputError(f"f: the formula is {len(text)} characters long; at most {MAX_LENGTH} are allowed")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        where = f" at column {error.offset}" if error.offset else ""
        raise InputError(f"f: not a formula{where}: {_clip(text.strip())!r} ({_syntax_reason(error, text.strip())})") from None
    except (ValueError, RecursionError, MemoryError) as error:  # huge literals, absurd nesting
        raise InputError(f"f: cannot read {_clip(text)!r}: {error}") from None
    source = text.strip()
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:  # iterative, so a deeply nested formula cannot exhaust the Python stack here
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(f"f: the formula is nested more than {MAX_DEPTH} levels deep")
        stack.extend((child, depth + 1) for child in _vetted_children(node, source))
    return tree


def _vetted_children(node: ast.AST, source: str) -> list[ast.AST]:
    """Refuse ``node`` unless it is whitelisted; return the children still to check."""
    segment = ast.get_source_segment(source, node) or type(node).__name__
    piece = _clip(segment)
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            hint = "; for a power write x**2" if isinstance(node.op, ast.BitXor) else ""
            raise InputError(f"f: operator in {piece!r} is not allowed (allowed: + - * / **){hint}")
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise InputError(f"f: operator in {piece!r} is not allowed (allowed: unary + and -)")
        return [node.operand]
    if isinstance(node, ast.Constant):
        _check_number(node.value, segment)
        return []
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:  # 'sin' alone: "did you mean 'sin'?" would not help
            raise InputError(f"f: {node.id} is a function; call it on an argument, e.g. {node.id}(x)")
        if node.id not in VARIABLES + CONSTANTS:
            hint = did_you_mean(node.id, VARIABLES + CONSTANTS + FUNCTIONS)
            raise InputError(
                f"f: unknown name {node.id!r}{hint}; variables are x and y, constants pi and e"
            )
        return []
    if isinstance(node, ast.Call):
        return _vetted_call(node, piece)
    what = _REFUSED.get(type(node), f"'{type(node).__name__}' nodes")
    raise InputError(f"f: {what} not allowed: {piece!r}")


def _vetted_call(node: ast.Call, piece: str) -> list[ast.AST]:
    if not isinstance(node.func, ast.Name):
        raise InputError(f"f: only calls of named functions are allowed, not {piece!r}")
    name = node.func.id
    if name not in FUNCTIONS:
        raise InputError(
            f"f: unknown function {name!r}{did_you_mean(name, FUNCTIONS)} in {piece!r}; "
            f"functions: {', '.join(FUNCTIONS)}"
        )
    if node.keywords:
        raise InputError(f"f: keyword arguments are not allowed: {piece!r}")
    if len(node.args) != 1:
        raise InputError(f"f: {name} takes 1 argument, got {len(node.args)} in {piece!r}")
    return list(node.args)


def _check_number(value: Any, written: str) -> None:
    """Refuse a literal that is not a real number, not finite, or not written by the README's rule for
    numbers (:data:`~gradlab.registry.NUMBER_TEXT`): Python also reads ``1_0`` as 10 and ``0x10`` as 16,
    which a config or a ``--set`` refuses, so a formula refuses them too."""
    piece = _clip(written)
    if type(value) not in (int, float):  # bool is an int subclass: refuse it with strings, None, complex
        kind = "text" if isinstance(value, (str, bytes)) else type(value).__name__
        raise InputError(f"f: only real numbers are allowed, not {kind} {piece!r}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int too large to become a float at all (1500 digits)
        finite = False
    if not finite:
        raise InputError(f"f: the number {piece!r} is too large for float64")
    if not NUMBER_TEXT.fullmatch(written):
        raise InputError(
            f"f: the number {piece!r} is not in ASCII decimal or scientific notation; write e.g. 10, 0.5 or 1e-3"
        )


def _syntax_reason(error: SyntaxError, source: str) -> str:
    """Python's reason, except for ``017``, where its advice (an ``0o`` prefix) is a form refused here."""
    if error.msg.startswith("leading zeros") and error.offset:
        digits = re.match(r"\d+", source[error.offset - 1:])
        if digits:
            return f"a whole number cannot start with 0 in a formula: write {int(digits[0])}, not {digits[0]}"
    return error.msg


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- building


def printed(expr) -> str:
    """A sympy expression as text, in the names a formula is written with: sympy's str form with
    Floats kept short (``0.1``, not ``0.100000000000000``) and ``abs(x)``, not sympy's ``Abs(x)``."""
    return _printer().doprint(expr)


@functools.cache
def _printer():
    from sympy.printing.str import StrPrinter

    class FormulaPrinter(StrPrinter):
        def _print_Abs(self, expr):  # noqa: N802 - sympy's dispatch name
            return f"abs({self._print(expr.args[0])})"

    return FormulaPrinter({"full_prec": False})


@functools.cache
def _sympy_table() -> dict[str, Callable]:
    """Map each allowed function name to a sympy builder (imports sympy on first use)."""
    import sympy as sp

    class sigmoid(sp.Function):  # noqa: N801 - printed as the user wrote it
        r"""Logistic function :math:`\sigma(z) = 1 / (1 + e^{-z})`, :math:`\sigma'(z) = \sigma(z)\,\sigma(-z)`.

        :math:`\sigma(-z)` equals :math:`1 - \sigma(z)`, but the stable sigmoid computes it without
        the subtraction, which cancels for z >~ 20 (and gives 0 for z >~ 37).
        """

        def fdiff(self, argindex=1):
            z = self.args[0]
            return sigmoid(z) * sigmoid(-z)

    class softplus(sp.Function):  # noqa: N801
        r"""Softplus :math:`\log(1 + e^z)`, whose derivative is :math:`\sigma(z)`."""

        def fdiff(self, argindex=1):
            return sigmoid(self.args[0])

    class relu(sp.Function):  # noqa: N801
        r"""Rectifier :math:`\max(0, z)`; its derivative is the step function (1/2 at 0)."""

        def fdiff(self, argindex=1):
            return sp.Heaviside(self.args[0])

    return {
        "exp": sp.exp, "log": sp.log, "ln": sp.log,
        "log2": lambda a: sp.log(a, 2), "log10": lambda a: sp.log(a, 10),
        "sqrt": sp.sqrt, "abs": sp.Abs,
        "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
        "arcsin": sp.asin, "asin": sp.asin, "arccos": sp.acos, "acos": sp.acos,
        "arctan": sp.atan, "atan": sp.atan,
        "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh,
        "sigmoid": sigmoid, "softplus": softplus, "relu": relu,
    }


def _np_sigmoid(z):
    # exp(-|z|) never overflows; the two branches are the same function rearranged
    z = np.asarray(z, dtype=float)
    small = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + small), small / (1.0 + small))


#: NumPy implementations of the functions NumPy does not have, in their stable forms.
NUMPY_EXTRAS = {
    "sigmoid": _np_sigmoid,
    "softplus": lambda z: np.logaddexp(0.0, z),
    "relu": lambda z: np.maximum(z, 0.0),
}


class _Builder:
    """Turn a vetted tree into a sympy expression, one node at a time."""

    def __init__(self, symbols: dict[str, Any]) -> None:
        import sympy as sp

        self.sp = sp
        self.names = {**symbols, "pi": sp.pi, "e": sp.E}
        self.functions = _sympy_table()

    def build(self, node: ast.AST):
        sp = self.sp
        if isinstance(node, ast.Constant):
            if isinstance(node.value, int):
                return sp.Integer(node.value)
            # 17 significant digits reproduce the float64 exactly when lambdify prints it back
            return sp.Float(repr(node.value), 17)
        if isinstance(node, ast.Name):
            return self.names[node.id]
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](self.build(node.operand))
        if isinstance(node, ast.BinOp):
            left, right = self.build(node.left), self.build(node.right)
            if isinstance(node.op, ast.Pow):
                return self._power(left, right)
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.Call):
            name, argument = node.func.id, self.build(node.args[0])
            value = self.functions[name](argument)
            if value.is_number and value.is_extended_real is False:  # sqrt(-1) is I, log(-1) is I*pi
                call, shown = f"{name}({printed(argument)})", printed(value)
                it_is = f" (it is {shown})" if shown != call else ""
                raise InputError(f"f: {call} is not a real number{it_is}; gradlab works on real functions")
            return value
        raise AssertionError(f"unvetted node {type(node).__name__}")  # vet() lets nothing else through

    def _power(self, base, exponent):
        """``base**exponent``, folding number**number without building giant exact integers."""
        if not (base.is_Number and exponent.is_Number):
            return base**exponent
        if exponent.is_Integer and abs(int(exponent)) <= MAX_EXACT_EXPONENT and _small(base):
            return base**exponent
        try:
            value = float(base) ** float(exponent)
        except (OverflowError, ZeroDivisionError):
            value = math.inf
        if isinstance(value, complex) or not math.isfinite(value):
            shown = printed(self.sp.Pow(base, exponent, evaluate=False))
            raise InputError(f"f: the constant {shown} is not a finite real number")
        return self.sp.Float(repr(value), 17)


def _small(number) -> bool:
    """True for a rational whose numerator and denominator fit in 64 bits (safe to power exactly)."""
    if not number.is_Rational:
        return False
    return abs(int(number.p)) < 2**64 and abs(int(number.q)) < 2**64


# --------------------------------------------------------------------------- the result


class Expression:
    r"""A parsed function :math:`f(x)` or :math:`f(x, y)` with its symbolic derivatives.

    Build it with :func:`parse`. Points are sequences of ``n_vars`` floats in the order
    of :attr:`variables`.

    Attributes
    ----------
    text : str
        The formula as given.
    variables : tuple of str
        ``("x",)`` or ``("x", "y")``.
    sym : sympy.Expr
        The function.
    grad_sym : tuple of sympy.Expr
        :math:`\nabla f = (\partial f/\partial x, \partial f/\partial y)`.
    """

    def __init__(self, text: str, sym, symbols: Sequence) -> None:
        import sympy as sp

        self._sp = sp
        self.text = text
        self.sym = sym
        self._symbols = tuple(symbols)
        self.variables = tuple(str(s) for s in symbols)
        self.grad_sym = tuple(sp.diff(sym, s) for s in self._symbols)
        self._check_real([("y" if len(self._symbols) == 1 else "f", sym),
                          *zip(self.derivative_names(), self.grad_sym)])
        self._f = self._lambdify(sym)
        self._g = self._lambdify(list(self.grad_sym))
        self._fg = self._lambdify([sym, *self.grad_sym])  # one call per descent step instead of two

    @property
    def n_vars(self) -> int:
        """Number of variables (1 or 2)."""
        return len(self.variables)

    def _lambdify(self, expr) -> Callable:
        # the numpy module object, not the string "numpy": the string makes sympy run
        # ``from numpy import *``, which imports numpy.f2py and numpy.ma (~60 ms of start-up)
        return self._sp.lambdify(self._symbols, expr, modules=[NUMPY_EXTRAS, np])

    @functools.cached_property
    def hessian_sym(self) -> tuple[tuple, ...]:
        r"""Second derivatives :math:`H_{ij} = \partial^2 f / \partial v_i \partial v_j`.

        Dirac deltas (from ``abs`` and ``relu``) are set to 0: the Hessian is used away
        from the kinks, where that is exact.
        """
        sp = self._sp
        with _sympy_depth("second derivative"):
            hessian = tuple(
                tuple(sp.diff(g, s).replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.S.Zero)
                      for s in self._symbols)
                for g in self.grad_sym
            )
        names = ["d2y/dx2"] if self.n_vars == 1 else ["d2f/dx2", "d2f/dxdy", "d2f/dydx", "d2f/dy2"]
        self._check_real(zip(names, (h for row in hessian for h in row)))
        return hessian

    def _check_real(self, named) -> None:
        """Refuse f when it or a derivative involves the imaginary unit: ``(-1)**x`` is real at whole
        numbers only, and its derivative ``(-1)**x*I*pi`` at none (the same rule as ``sqrt(-1)``)."""
        sp = self._sp
        for name, expr in named:
            if expr.has(sp.I):
                negative = [p for p in self.sym.atoms(sp.Pow)
                            if p.base.is_number and p.base.is_extended_negative and not p.exp.is_number]
                why = (f" (from {self.show(negative[0])}: a negative number raised to a non-constant power)"
                       if negative else "")
                raise InputError(f"f: {self.text!r} is not a real function: {name} = {self.show(expr)} "
                                 f"contains the imaginary unit I{why}; gradlab works on real functions")

    @functools.cached_property
    def _h(self) -> Callable:
        rows = [list(row) for row in self.hessian_sym]
        with _sympy_depth("second derivative"):
            return self._lambdify(rows)

    # Evaluation never warns: overflow and domain errors come back as inf/nan for the caller to check.
    def value(self, point: Sequence[float]) -> float:
        """:math:`f` at ``point`` (inf or nan where it overflows or has no real value)."""
        with np.errstate(all="ignore"):
            return float(np.asarray(self._f(*_coords(point)), dtype=float))

    def gradient(self, point: Sequence[float]) -> np.ndarray:
        r""":math:`\nabla f` at ``point``, shape ``(n_vars,)``."""
        with np.errstate(all="ignore"):
            return np.asarray(self._g(*_coords(point)), dtype=float).reshape(self.n_vars)

    def value_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        r""":math:`f` and :math:`\nabla f` at ``x`` in one call: the numbers :meth:`value` and
        :meth:`gradient` give, for the inner loop of :class:`~gradlab.descent.Descent`.

        ``x`` must be a float64 array of shape ``(n_vars,)``. Unlike the other methods this one
        enters no ``np.errstate`` of its own (1.4 us, more than the evaluation): call it inside one
        that ignores overflow and invalid values, as the descent does around a batch of steps.
        """
        f, *g = self._fg(*x)  # iterating a float64 array gives np.float64: overflow gives inf, as in _coords
        return float(f), np.array(g, dtype=float)

    def hessian(self, point: Sequence[float]) -> np.ndarray:
        """The Hessian at ``point``, shape ``(n_vars, n_vars)``."""
        with np.errstate(all="ignore"):
            return np.asarray(self._h(*_coords(point)), dtype=float).reshape(self.n_vars, self.n_vars)

    def values(self, *grids: np.ndarray) -> np.ndarray:
        """:math:`f` on arrays of coordinates (broadcast together), for plotting."""
        with np.errstate(all="ignore"):
            result = np.asarray(self._f(*[np.asarray(g, dtype=float) for g in grids]), dtype=float)
            return result + np.zeros(np.broadcast(*grids).shape)  # a constant f still fills the grid

    @functools.cached_property
    def _size(self) -> Callable:
        sp = self._sp

        def size(e):
            """A bound on e's rounding, in units of eps (first order): a sum or a product over its
            parts' bounds (no cancellation), a function its own rounding |e| plus each argument's
            times the slope, which magnifies it (sqrt near 0)."""
            if e.is_Add or e.is_Mul:
                return e.func(*map(size, e.args))
            carried = [sp.Abs(_slope(sp, e, a)) * size(a) for a in e.args if not a.is_number]
            return sp.Add(sp.Abs(e), *carried)

        with _sympy_depth("rounding estimate"):
            return self._lambdify(size(self.sym))

    def rounding(self, point: Sequence[float]) -> float:
        r"""About how far float64 rounding moves :math:`f` at ``point`` (to first order, up to a
        small factor): :math:`\epsilon` times the sizes f's value is built from. Near x = 1,
        :math:`x^4 - 4x^3 + 6x^2 - 4x + 1` sums numbers up to 6 that cancel to about 0, so its
        rounding is tens of :math:`\epsilon`, not :math:`\epsilon |f|`; a square root of it
        magnifies that by its slope. Infinite where a slope is infinite or undefined."""
        return np.finfo(float).eps * self._rounding_size(point)

    def rounding_precise(self, point: Sequence[float]) -> float:
        r"""As :meth:`rounding`, for :meth:`value_precise`: the same sizes times
        :math:`10^{-(\text{PRECISE_DIGITS} - 5)}`, a margin of :math:`10^5` over its last digit."""
        return 10.0 ** (5 - PRECISE_DIGITS) * self._rounding_size(point)

    def _rounding_size(self, point: Sequence[float]) -> float:
        """The sizes f's value is built from at ``point`` (see :meth:`rounding`); inf where a slope is
        infinite or undefined."""
        with np.errstate(all="ignore"):
            size = float(np.asarray(self._size(*_coords(point)), dtype=float))
        return math.inf if math.isnan(size) else size

    def _lambdify_mpmath(self, expr) -> Callable:
        import mpmath  # sympy's own dependency

        extras = {"sigmoid": lambda z: 1 / (1 + mpmath.exp(-z)), "softplus": lambda z: mpmath.log1p(mpmath.exp(z)),
                  "relu": lambda z: max(z, 0)}
        return self._sp.lambdify(self._symbols, expr, modules=[extras, "mpmath"])

    @functools.cached_property
    def _f_unbounded(self) -> Callable:
        return self._lambdify_mpmath(self.sym)

    @functools.cached_property
    def _derivatives_unbounded(self) -> Callable:
        with _sympy_depth("second derivative"):
            return self._lambdify_mpmath([*self.grad_sym, *(h for row in self.hessian_sym for h in row)])

    def value_unbounded(self, point: Sequence[float]) -> Any:
        """:math:`f` at ``point`` in mpmath, whose exponent has no range: e^-1000 is 5.1e-435, not the 0
        it becomes in float64. Returned as an mpmath number, comparable with others; None where
        f has no real value there."""
        return self._mpmath_value([float(v) for v in np.asarray(point, dtype=float).ravel()], self._f_unbounded)

    def value_precise(self, point: Sequence[float]) -> Any:
        r""":math:`f` at ``point`` in mpmath to ``PRECISE_DIGITS`` significant digits, the coordinates
        taken as the exact binary numbers they are: beside f = 1, :math:`y^6` at y = 1e-3 adds 1e-18,
        which float64 rounds away. An mpmath number, or None where f has no real value there."""
        return self._precise(point, self._f_unbounded)

    def derivatives_precise(self, point: Sequence[float]) -> tuple[list, list] | None:
        r""":math:`\nabla f` and the Hessian (as rows) at ``point`` in mpmath, as :meth:`value_precise`
        gives f: at x = -20 float64 rounds tanh to -1 and its derivative :math:`1 - \tanh^2 x` to 0,
        while it is 1.7e-17. None where one of them has no real value there."""
        values = self._precise(point, self._derivatives_unbounded)
        if values is None:
            return None
        n = self.n_vars
        return values[:n], [values[n + i * n:n + (i + 1) * n] for i in range(n)]

    def _precise(self, point: Sequence[float], function: Callable) -> Any:
        """``function`` at ``point`` to ``PRECISE_DIGITS`` significant digits (see :meth:`value_precise`)."""
        import mpmath

        with mpmath.workdps(PRECISE_DIGITS):
            return self._mpmath_value([mpmath.mpf(float(v)) for v in np.asarray(point, dtype=float).ravel()], function)

    def _mpmath_value(self, coords: list, function: Callable) -> Any:
        """``function`` (:attr:`_f_unbounded`, or :attr:`_derivatives_unbounded`, a list) at ``coords``, or
        None where it (any value of the list) has no real value there."""
        try:
            value = function(*coords)
        except (ArithmeticError, TypeError, ValueError):  # a pole (1/0), or relu's max() of a complex value
            return None
        values = value if isinstance(value, list) else [value]
        real = all(not isinstance(v, complex) and getattr(v, "imag", 0) == 0 for v in values)
        return value if real else None

    # Printed forms (sympy's str, with Floats shown as the user typed them).
    def show(self, expr, textbook: bool = True) -> str:
        """Print a sympy expression of this function compactly (``0.1``, not ``0.100000000000000``).

        With ``textbook``, a product holding sigmoid(u) and sigmoid(-u), the form sigmoid's
        derivative takes because it keeps its digits where 1 - sigmoid(u) cancels, is printed the
        textbook's way: sigmoid(u) (1 - sigmoid(u)).
        """
        sigmoid = _sympy_table()["sigmoid"]

        def textbook_form(product):
            present = {f.base if f.is_Pow else f for f in product.args}
            return product.xreplace({f: 1 - sigmoid(-f.args[0]) for f in present
                                     if isinstance(f, sigmoid) and f.args[0].could_extract_minus_sign()
                                     and sigmoid(-f.args[0]) in present})

        with _sympy_depth("printed form"):
            shown = expr.replace(lambda e: e.is_Mul, textbook_form) if textbook else expr
            return printed(shown)

    @property
    def formula(self) -> str:
        """``f`` as sympy prints it, e.g. ``x**2 - 4*x + 6``."""
        return self.show(self.sym, textbook=False)

    def derivative_names(self) -> list[str]:
        """``['dy/dx']`` for one variable (y is the value), ``['df/dx', 'df/dy']`` for two."""
        if self.n_vars == 1:
            return ["dy/dx"]
        return [f"df/d{v}" for v in self.variables]

    def derivative_lines(self) -> list[str]:
        """``['dy/dx = 2*x - 4']``, or one line per partial derivative."""
        return [f"{name} = {self.show(g)}" for name, g in zip(self.derivative_names(), self.grad_sym)]

    def second_derivative_lines(self) -> list[str]:
        """``["d2y/dx2 = 2"]``, or the Hessian entries for two variables."""
        if self.n_vars == 1:
            return [f"d2y/dx2 = {self.show(self.hessian_sym[0][0])}"]
        (xx, xy), (_, yy) = self.hessian_sym
        return [f"d2f/dx2 = {self.show(xx)}", f"d2f/dxdy = {self.show(xy)}", f"d2f/dy2 = {self.show(yy)}"]

    def __repr__(self) -> str:
        return f"Expression({self.text!r}, variables={self.variables})"


def _slope(sp, e, part):
    """de/d(part), for ``part`` one of e's arguments."""
    t = sp.Dummy(real=True)
    return e.xreplace({part: t}).diff(t).xreplace({t: part})


@contextlib.contextmanager
def _sympy_depth(what: str):
    """Report sympy running out of Python stack (``x**x**x**...``, 55 levels) as bad input, not a crash."""
    try:
        yield
    except RecursionError:
        raise InputError(f"f: its {what} nests too deeply for sympy to handle; use a simpler formula "
                         f"(fewer nested powers or calls)") from None


def _coords(point: Sequence[float]) -> list[np.float64]:
    # np.float64, not float: Python floats raise OverflowError on 1e200**2 instead of giving inf
    return [np.float64(v) for v in np.asarray(point, dtype=float).ravel()]


def parse(text: str) -> Expression:
    """Vet ``text`` (see :func:`vet`), build it with sympy and differentiate it.

    The variables are ``("x",)`` unless ``y`` occurs, then ``("x", "y")``.

    Raises
    ------
    InputError
        For anything outside the whitelist, before any of it is evaluated.
    """
    tree = vet(text)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names = VARIABLES if "y" in used else VARIABLES[:1]

    import sympy as sp

    symbols = sp.symbols(names, real=True)
    with _sympy_depth("derivative"):
        sym = _Builder(dict(zip(names, symbols))).build(tree.body)
        if sym.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise InputError(f"f: {text.strip()!r} contains an undefined constant ({printed(sym)}), "
                             f"e.g. a division by 0")
        return Expression(text.strip(), sym, symbols)
