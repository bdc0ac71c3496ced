"""Loss landscapes: the loss over a plane of parameter space and the path training took across it.

Two cases, chosen by the number of parameters P:

- **P = 2** (one neuron with one input: w and b). The surface C(w, b) is exact: every grid
  point is a complete network, and the path is the real sequence of (w, b) after each update.
- **P > 2**. A 2-D slice through the final parameters theta*,

  .. math:: \\theta(\\alpha, \\beta) = \\theta^* + \\alpha d_1 + \\beta d_2,

  along two random directions normalised per unit ("filter-normalised", Li et al.,
  *Visualizing the Loss Landscape of Neural Nets*, NeurIPS 2018): each unit's incoming
  weights (a column of W, the fully connected analogue of a convolution filter) get a
  Gaussian direction rescaled to the norm of those weights, ||d_j|| = ||W_j||, so that a step
  of alpha = 1 changes every unit by its own size whatever the layer's scale. Bias directions
  are zero, as in the paper's default. The recorded training path is projected onto the
  plane by least squares, (alpha_t, beta_t) = argmin ||theta_t - theta* - alpha d1 - beta d2||;
  two random directions in a high-dimensional space see only a small part of the path, and
  :attr:`Landscape.explained` says how much. Also the 1-D interpolation
  C((1 - t) theta_0 + t theta*) from the initial (t = 0) to the final (t = 1) parameters.

All losses are evaluated on the training data. :class:`LossEvaluator` computes C for many
parameter vectors in one vectorised pass: the network's forward rule with a leading
"which network" axis, and the loss's per-sample rows averaged per network. Large grids go
through it in chunks, optionally spread over processes. Nothing here prints; progress is
reported through a callback ``progress(done, total)``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from gradlab.errors import InputError

#: numbers in one work array of a vectorised chunk (2**21 float64 = 16 MB)
CHUNK_VALUES = 1 << 21
#: multiply-adds of a whole grid above which it is spread over processes (about a second of work)
PARALLEL_WORK = 3e8
#: after Ctrl-C, how long to wait for the grid's worker processes to be gone
STOP_TIMEOUT = 30.0
#: --range: the smallest half-width or width, and the largest coordinate, of the box
RANGE_LIMITS = (1e-6, 1e6)
#: the 1-D interpolation runs over t in [INTERPOLATION[0], INTERPOLATION[1]]
INTERPOLATION = (-0.25, 1.25)

Progress = Callable[[int, int], None]


class LossEvaluator:
    """C(theta) for a stack of flat parameter vectors theta, shape (G, P), all at once.

    The layout of theta is :meth:`Network.flat`'s: W1 (row-major), b1, W2, b2, ... For G
    networks on N samples every layer computes

    .. math:: Z_g = A_g W_g + b_g,\\qquad A'_g = f(Z_g)\\qquad (g = 1 \\dots G)

    as one broadcast matmul of shape (G, N, n_out); the loss's per-sample rows l_{g,i} are
    then averaged over i, C_g = (1/N) sum_i l_{g,i} -- the same C as ``Network.loss``.

    Parameters
    ----------
    network : Network
        Supplies the layer shapes and activations (its weights are not used).
    loss : Loss
    X, Y : ndarray
        The data, Y shaped like the network output.
    l1, l2 : float
        The weight penalty training adds, :math:`R = \\sum_W (l_2/2 \\|W\\|^2 + l_1 \\|W\\|_1)` over the
        weight matrices (not the biases; :func:`gradlab.engine.optimizers.weight_decay_penalty`):
        each C_g is then C + R, the function training minimised, so a path ends at its minimum.
    """

    def __init__(self, network, loss, X: np.ndarray, Y: np.ndarray, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1, self.l2 = float(l1), float(l2)
        self.shapes = [layer.W.shape for layer in network.layers]
        self.activations = [layer.activation for layer in network.layers]
        self.loss, self.on_logits = network.value_form(loss)  # the form Network.loss evaluates
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.Y = np.ascontiguousarray(Y, dtype=np.float64)
        self.n_params = network.n_params

    @property
    def chunk(self) -> int:
        """Networks per vectorised pass: the widest (G, N, width) array stays within CHUNK_VALUES."""
        widest = max(max(n_in, n_out) for n_in, n_out in self.shapes)
        return max(1, CHUNK_VALUES // (len(self.X) * widest))

    @property
    def work_per_network(self) -> int:
        """Multiply-adds of one forward pass over the data."""
        return len(self.X) * sum(n_in * n_out for n_in, n_out in self.shapes)

    def __call__(self, thetas: np.ndarray) -> np.ndarray:
        """C for each row of ``thetas`` (G, P); returns shape (G,). Non-finite where it overflowed."""
        thetas = np.asarray(thetas, dtype=np.float64)
        if thetas.ndim != 2 or thetas.shape[1] != self.n_params:
            raise ValueError(f"thetas must have shape (G, {self.n_params}), got {thetas.shape}")
        G, n = len(thetas), len(self.X)
        a, offset, penalty = self.X, 0, np.zeros(G)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):  # far-out grid corners may overflow
            for (n_in, n_out), act in zip(self.shapes, self.activations):
                W = thetas[:, offset:offset + n_in * n_out].reshape(G, n_in, n_out)
                offset += n_in * n_out
                b = thetas[:, offset:offset + n_out].reshape(G, 1, n_out)
                offset += n_out
                z = np.matmul(a, W)  # (N, n_in) @ (G, n_in, n_out) broadcasts to (G, N, n_out)
                z += b
                a = act.value(z)
                if self.l2:
                    penalty += 0.5 * self.l2 * np.einsum("gij,gij->g", W, W)
                if self.l1:
                    penalty += self.l1 * np.abs(W).sum(axis=(1, 2))
            out = z if self.on_logits else a
            k = out.shape[-1]
            targets = np.broadcast_to(self.Y, out.shape).reshape(-1, k)
            rows = self.loss.rows(targets, out.reshape(-1, k)).reshape(G, n)
            return rows.mean(axis=1) + penalty

    def many(self, thetas: np.ndarray) -> np.ndarray:
        """:meth:`__call__` in chunks of :attr:`chunk` rows (bounded memory)."""
        return np.concatenate([self(thetas[i:i + self.chunk]) for i in range(0, len(thetas), self.chunk)]) \
            if len(thetas) else np.empty(0)


def plane_losses(evaluator: LossEvaluator, origin: np.ndarray, basis: np.ndarray, coords: np.ndarray, *,
                 workers: int = 1, progress: Progress | None = None) -> np.ndarray:
    """C(origin + coords @ basis) for every row of ``coords``.

    Parameters
    ----------
    origin : ndarray, shape (P,)
    basis : ndarray, shape (m, P)
        The directions spanning the plane (m = 2) or line (m = 1).
    coords : ndarray, shape (G, m)
    workers : int
        Processes to use when the grid is large (more than PARALLEL_WORK multiply-adds); 1 keeps
        everything in this process.
    progress : callable, optional
        Called as ``progress(done, total)`` after each chunk.

    Returns
    -------
    ndarray, shape (G,)
    """
    total = len(coords)
    chunk = evaluator.chunk
    slices = [slice(i, min(i + chunk, total)) for i in range(0, total, chunk)]
    result = np.empty(total)
    parallel = workers > 1 and len(slices) > 1 and total * evaluator.work_per_network > PARALLEL_WORK
    if not parallel:
        for sl in slices:
            result[sl] = evaluator(origin + coords[sl] @ basis)
            if progress is not None:
                progress(sl.stop, total)
        return result
    return _plane_losses_in_processes(evaluator, origin, basis, coords, slices, result, workers, progress)


def _plane_losses_in_processes(evaluator, origin, basis, coords, slices, result, workers, progress):
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from gradlab.processes import close_pool, signals_held, spawn_context

    # spawn, not fork: the CLI's progress bar runs a thread, and forking a threaded process is unsafe
    done = 0
    pool = ProcessPoolExecutor(max_workers=min(workers, len(slices)), mp_context=spawn_context(),
                               initializer=_start_worker, initargs=(evaluator, origin, basis))
    try:
        with signals_held():  # submit() starts the workers, which ignore Ctrl-C once they are up
            futures = {pool.submit(_worker_losses, coords[sl]): sl for sl in slices}
        for future in as_completed(futures):
            sl = futures[future]
            result[sl] = future.result()
            done += sl.stop - sl.start
            if progress is not None:
                progress(done, len(result))
    except BaseException:  # Ctrl-C (or a failure): the chunks being computed are of no use now
        close_pool(pool, timeout=STOP_TIMEOUT)
        raise
    pool.shutdown(wait=True)
    return result


_WORKER: dict = {}


def _start_worker(evaluator, origin, basis) -> None:
    """Worker set-up: keep the evaluator and the plane; one BLAS thread per process. Ctrl-C and
    SIGTERM are ignored: the parent stops the pool (a worker they killed while it held the call
    queue's lock left the others waiting on it, and the command never ended)."""
    import signal

    from gradlab.processes import limit_threads, release_signals

    release_signals(signal.SIG_IGN)
    _WORKER.update(evaluator=evaluator, origin=origin, basis=basis)
    limit_threads()


def _worker_losses(coords: np.ndarray) -> np.ndarray:
    return _WORKER["evaluator"](_WORKER["origin"] + coords @ _WORKER["basis"])


def recorded_path(run_dir, n_params: int | None = None) -> tuple[np.ndarray | None, int]:
    """A training run's path.npy (rows = parameter vectors, from the initial to the final) and
    its stride k (a point every k updates), or (None, 1) when the run recorded none."""
    from pathlib import Path

    from gradlab.runner import PATH_FILE
    from gradlab.runs import read_summary

    file = Path(run_dir) / PATH_FILE
    if not file.exists():
        return None, 1
    try:
        path = np.load(file)  # allow_pickle stays False: a run directory is data, never code
    except (OSError, ValueError, EOFError) as error:
        raise InputError(f"{file}: not a NumPy array of the training path ({error})") from None
    if not isinstance(path, np.ndarray):  # an .npz archive under the .npy name
        path.close()
        raise InputError(f"{file}: not a NumPy array of the training path (a {type(path).__name__})")
    if path.ndim != 2 or (n_params is not None and path.shape[1] != n_params):
        raise InputError(f"{file}: expected shape (points, {n_params}), got {path.shape}")
    if not np.issubdtype(path.dtype, np.floating):
        raise InputError(f"{file}: expected floating-point parameters, got dtype {path.dtype}")
    if len(path) == 0:
        raise InputError(f"{file}: expected at least one point (the parameters before training), got shape {path.shape}")
    if not np.all(np.isfinite(path), axis=1).any():  # the box around the path is that of its finite points
        raise InputError(f"{file}: no point of the path is finite (every row holds nan or inf)")
    every = read_summary(run_dir).get("path_every") or 1
    # point k is the parameters after k * path_every updates, a number the plots compute in int64
    largest = np.iinfo(np.int64).max // max(1, len(path) - 1)
    if not isinstance(every, int) or not 1 <= every <= largest:
        raise InputError(f"{Path(run_dir) / 'summary.json'}: path_every must be a whole number from 1 to {largest} "
                         f"(the last of {len(path)} points is after {len(path) - 1} x path_every updates), "
                         f"got {every!r}")
    return path.astype(np.float64), every


def available_cores() -> int:
    """The CPUs this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def filter_normalized_direction(network, rng: np.random.Generator) -> np.ndarray:
    """A random direction in parameter space, normalised per unit (Li et al. 2018).

    For every layer, d_W ~ N(0, 1) elementwise, then each column j (the incoming weights of
    unit j) is rescaled so that ||d_W[:, j]|| = ||W[:, j]||; a unit whose weights are all zero
    gets a zero direction. Bias directions are zero.

    Returns
    -------
    ndarray, shape (P,)
        In :meth:`Network.flat`'s layout.
    """
    parts = []
    for layer in network.layers:
        W = layer.W.astype(np.float64)
        d = rng.standard_normal(W.shape)
        # hypot.reduce: the column norms of exploded weights (1e298) without overflowing to inf
        scale = np.hypot.reduce(W, axis=0) / np.maximum(np.linalg.norm(d, axis=0), 1e-300)
        parts += [(d * scale).ravel(), np.zeros(layer.b.shape)]
    return np.concatenate(parts)


@dataclass
class Landscape:
    """A loss surface on a plane and the training path across it.

    Attributes
    ----------
    kind : str
        ``"exact"`` (P = 2: the axes are w and b) or ``"slice"`` (the axes are alpha and beta).
    axes : tuple of str
    u, v : ndarray
        Grid coordinates along the two axes, shapes (p_u,) and (p_v,).
    loss : ndarray, shape (p_v, p_u)
        ``loss[i, j]`` = C at (u[j], v[i]).
    path : ndarray, shape (T, 2)
        The path in plane coordinates: (w, b) after each update (exact), or the least-squares
        projection of each recorded parameter vector (slice). Row 0 is the start.
    path_loss : ndarray, shape (T,)
        C at the recorded parameters themselves.
    plane_loss : ndarray or None
        Slice only: C at the projected points (what the contour shows under the path).
    explained : float or None
        Slice only: the share of the path's squared distance from theta* that lies in the
        plane, 1 - sum ||residual||^2 / sum ||theta_t - theta*||^2 (1 = the path lies in it).
    interpolation : (ndarray, ndarray) or None
        Slice only: t and C((1 - t) theta_0 + t theta*).
    names : tuple of str
        Exact only: the parameter names of the axes (W1[0,0], b1[0]).
    """

    kind: str
    axes: tuple[str, str]
    u: np.ndarray
    v: np.ndarray
    loss: np.ndarray
    path: np.ndarray
    path_loss: np.ndarray
    plane_loss: np.ndarray | None = None
    explained: float | None = None
    interpolation: tuple[np.ndarray, np.ndarray] | None = None
    names: tuple[str, str] = ("", "")
    notes: list[str] = field(default_factory=list)

    @property
    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Meshgrid arrays U, V of shape (p_v, p_u), matching :attr:`loss`."""
        return np.meshgrid(self.u, self.v)


def parse_range(text: str | None) -> tuple[float, ...] | None:
    """``--range``: one number R (half-width), or four numbers U0,U1,V0,V1 (the box)."""
    if text is None:
        return None
    try:
        values = tuple(float(part) for part in str(text).split(","))
    except ValueError:
        raise InputError(f"--range must be R or U0,U1,V0,V1 (numbers), got {text!r}") from None
    if len(values) not in (1, 4) or not all(math.isfinite(v) for v in values):
        raise InputError(f"--range must be R or U0,U1,V0,V1 (finite numbers), got {text!r}")
    if len(values) == 1 and values[0] <= 0:
        raise InputError(f"--range R must be > 0, got {text!r}")
    if len(values) == 4 and not (values[0] < values[1] and values[2] < values[3]):
        raise InputError(f"--range U0,U1,V0,V1 needs U0 < U1 and V0 < V1, got {text!r}")
    low, high = RANGE_LIMITS
    if max(abs(v) for v in values) > high:
        raise InputError(f"--range numbers must be between -{high:g} and {high:g}, got {text!r}")
    widths = values if len(values) == 1 else (values[1] - values[0], values[3] - values[2])
    if min(widths) < low:
        raise InputError(f"--range must be at least {low:g} wide (R >= {low:g}; U1 - U0, V1 - V0 >= {low:g}) for "
                         f"distinct float64 grid points, got {text!r}")
    return values


def default_points(network) -> int:
    """Grid points per axis: 101 for the cheap exact surface, 41 for a slice of a larger network."""
    return 101 if network.n_params == 2 else 41


def compute(network, loss, X: np.ndarray, Y: np.ndarray, path: np.ndarray | None, *,
            initial: np.ndarray | None = None, bounds: tuple[float, ...] | None = None, points: int | None = None,
            seed: int = 0, workers: int = 1, progress: Progress | None = None, l1: float = 0.0,
            l2: float = 0.0) -> Landscape:
    """The landscape around ``network``'s current (final) parameters: :func:`exact_surface` for
    two parameters, :func:`random_slice` for more.

    Parameters
    ----------
    path : ndarray, shape (T, P), or None
        The recorded parameters from the initial to the final ones (None: the final point only).
    initial : ndarray, optional
        theta_0 for the interpolation when there is no path.
    l1, l2 : float
        Training's weight penalty, drawn with the loss (see :class:`LossEvaluator`).
    """
    evaluator = LossEvaluator(network, loss, X, Y, l1, l2)
    final = network.flat().astype(np.float64)
    points = default_points(network) if points is None else points
    if network.n_params == 2:
        return exact_surface(evaluator, path if path is not None else final[None, :], bounds=bounds,
                             points=points, workers=workers, progress=progress)
    return random_slice(evaluator, network, final, path, initial=initial, bounds=bounds, points=points,
                        seed=seed, workers=workers, progress=progress)


def check_points(points: int) -> int:
    if points < 3 or points > 1001:
        raise InputError(f"--points must be between 3 and 1001, got {points}")
    return points


def _box(bounds: tuple[float, ...] | None, centre: np.ndarray, half: np.ndarray) -> tuple[float, ...]:
    if bounds is None:
        return (centre[0] - half[0], centre[0] + half[0], centre[1] - half[1], centre[1] + half[1])
    if len(bounds) == 1:
        return (centre[0] - bounds[0], centre[0] + bounds[0], centre[1] - bounds[0], centre[1] + bounds[0])
    return bounds


def _grid(box: Sequence[float], points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u = np.linspace(box[0], box[1], points)
    v = np.linspace(box[2], box[3], points)
    U, V = np.meshgrid(u, v)
    return u, v, np.column_stack([U.ravel(), V.ravel()])


def exact_surface(evaluator: LossEvaluator, path: np.ndarray, *, bounds: tuple[float, ...] | None = None,
                  points: int = 101, workers: int = 1, progress: Progress | None = None) -> Landscape:
    """The exact C(w, b) of a two-parameter network, with its training path.

    Parameters
    ----------
    path : ndarray, shape (T, 2)
        (w, b) before training and after each update.
    bounds : tuple, optional
        None: the path's bounding box, widened by half its size on every side (and to at least
        +-1 around its centre), so the flat and the steep parts around the path both show.
        (R,): the box centre +- R. (w0, w1, b0, b1): that box.
    workers : int
        Processes for a large grid (many samples), as in :func:`plane_losses`.
    """
    finite = path[np.all(np.isfinite(path), axis=1)]
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    centre, half = (lo + hi) / 2, np.maximum(hi - lo, 1.0)  # half-width = extent: a margin of half on each side
    box = _box(bounds, centre, half)
    u, v, coords = _grid(box, points)
    losses = plane_losses(evaluator, np.zeros(2), np.eye(2), coords, workers=workers, progress=progress)
    return Landscape(kind="exact", axes=("w", "b"), u=u, v=v, loss=losses.reshape(points, points),
                     path=path, path_loss=evaluator.many(path), names=("W1[0,0]", "b1[0]"))


def _project(offsets: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, float | None]:
    """Least-squares plane coordinates of each finite row of ``offsets`` (T, P) on ``directions``
    (2, P), nan for the others, and the share of the squared distance the plane explains.

    Solved in units of the largest direction entry: the coordinates do not change, and weights
    that exploded in training (1e298) no longer overflow the SVD or the sums of squares.
    """
    finite = np.all(np.isfinite(offsets), axis=1)
    unit = float(np.max(np.abs(directions), initial=0.0)) or 1.0
    D, O = directions / unit, offsets[finite] / unit
    coeffs = np.full((len(offsets), 2), np.nan)
    coeffs[finite] = np.linalg.lstsq(D.T, O.T, rcond=None)[0].T
    spread = float(np.sum(O ** 2))
    explained = 1.0 - float(np.sum((O - coeffs[finite] @ D) ** 2)) / spread if spread > 0 else None
    return coeffs, explained


def random_slice(evaluator: LossEvaluator, network, final: np.ndarray, path: np.ndarray | None, *,
                 initial: np.ndarray | None = None, bounds: tuple[float, ...] | None = None, points: int = 41,
                 seed: int = 0, workers: int = 1, interpolation_points: int = 61,
                 progress: Progress | None = None) -> Landscape:
    """A filter-normalised random 2-D slice through ``final``, the path projected onto it.

    Parameters
    ----------
    network : Network
        At the final parameters (its weights scale the directions).
    final : ndarray, shape (P,)
        theta*, the centre of the slice.
    path : ndarray, shape (T, P), optional
        The recorded parameters; None or a single row draws no path.
    initial : ndarray, shape (P,), optional
        theta_0 for the 1-D interpolation (default: the path's first row; none without either).
    bounds : tuple, optional
        None: alpha, beta in [-R, R] with R = max(1, 1.2 max |projected path|). (R,): [-R, R].
        (a0, a1, b0, b1): that box.
    seed : int
        Seeds the two directions.
    """
    rng = np.random.default_rng(seed)
    directions = np.stack([filter_normalized_direction(network, rng) for _ in range(2)])
    if path is None or len(path) == 0:
        path = final[None, :]
    coeffs, explained = _project(path - final, directions)
    finite = np.all(np.isfinite(coeffs), axis=1)
    if bounds is None:
        reach = float(np.nanmax(np.abs(coeffs))) if finite.any() else 0.0
        bounds = (max(1.0, 1.2 * reach),)
    box = _box(bounds, np.zeros(2), np.ones(2))
    u, v, coords = _grid(box, points)
    losses = plane_losses(evaluator, final, directions, coords, workers=workers, progress=progress)
    plane_loss = evaluator.many(np.where(finite[:, None], final + np.nan_to_num(coeffs) @ directions, np.nan))
    start = initial if initial is not None else (path[0] if len(path) > 1 else None)
    interpolation = None
    if start is not None:
        ts = np.linspace(*INTERPOLATION, interpolation_points)
        interpolation = (ts, evaluator.many(start + ts[:, None] * (final - start)))
    return Landscape(kind="slice", axes=("alpha", "beta"), u=u, v=v, loss=losses.reshape(points, points),
                     path=coeffs, path_loss=evaluator.many(path), plane_loss=plane_loss, explained=explained,
                     interpolation=interpolation)
