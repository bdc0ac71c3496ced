"""Time full training epochs of gradlab's engine against PyTorch (CPU), scikit-learn's
MLPClassifier and a GEMM-only floor, on the same network, data, batches, weights and optimizer.

    python benchmarks/engine.py            # every case, about 7 minutes on 2 cores
    python benchmarks/engine.py --quick    # about a minute: 3 repeats, large and online on fewer samples

Every implementation runs in its own process (thread pools of two libraries in one process
compete for the cores), with the same thread count, and the processes take turns epoch by
epoch (A B C D A B C D ...), so a slow phase of the machine hits them all alike; each timed
epoch waits (``common.settle``) until the threads of the one before have stopped spinning, so
that they do not slow it down. Before any timing, each trains one
epoch from the same initial weights on the same shuffled batches and the loss of its weights
is evaluated by one reference function: only implementations that did the same work (to 1e-6
relative in float64) are compared.

The GEMM-only floor does the matrix products of the same epoch and nothing else
(forward ``X W``, backward ``X^T delta`` and ``delta W^T``, into preallocated arrays): no
bias, activation, loss, gather or update, so no implementation of this design can be faster.

Results: a rich table, and ``results.csv``/``results.json`` in a run directory
(``runs/<stamp>-bench-engine-<id>/`` unless ``--out``).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

IMPLEMENTATIONS = ("gradlab", "torch", "sklearn", "gemm")
DTYPES = ("float64", "float32")
OPTIMIZERS = ("sgd", "adam")
PEERS = {"torch": "torch", "sklearn": "sklearn"}  # implementation -> module it needs


@dataclass(frozen=True)
class Case:
    """One benchmark: a network, its data and batch size, a dtype and an optimizer."""

    size: str
    layers: tuple[int, ...]
    n: int
    batch: int
    hidden: str  # hidden activation: sigmoid | relu
    dtype: str = "float64"
    optimizer: str = "sgd"
    seed: int = 0

    @property
    def task(self) -> str:
        return "binary" if self.layers[-1] == 1 else "multiclass"

    @property
    def lr(self) -> float:
        if self.optimizer == "adam":
            return 1e-3
        return {"tiny": 0.5, "online": 0.05, "small": 0.05, "large": 0.01}[self.size]

    @property
    def label(self) -> str:
        return f"{self.size} {'-'.join(map(str, self.layers))} {self.dtype} {self.optimizer}"

    @property
    def flops(self) -> float:
        """Floating-point operations of the epoch's matrix products: 2 n n_in n_out for
        ``X W`` and ``X^T delta`` in every layer, and for ``delta W^T`` above the first."""
        total = 0.0
        for k, (n_in, n_out) in enumerate(zip(self.layers, self.layers[1:])):
            total += 2.0 * self.n * n_in * n_out * (3 if k else 2)
        return total


SIZES = {
    "tiny": Case("tiny", (2, 16, 1), 1000, 32, "sigmoid"),
    "small": Case("small", (64, 128, 10), 1797, 64, "relu"),
    "large": Case("large", (784, 512, 512, 10), 60_000, 256, "relu"),
    "online": Case("online", (2, 16, 1), 1000, 1, "sigmoid"),
}
ADAM = {"beta1": 0.9, "beta2": 0.999}
#: ``--quick``: the sizes whose epochs take seconds, on fewer samples (each epoch is still
#: 23 steps of the large network, 250 updates of the online one)
QUICK_SAMPLES = {"large": 6_000, "online": 250}


def adam_eps(dtype: str) -> float:
    """Adam's eps for the benchmark.

    scikit-learn adds eps to sqrt(v) before the bias correction, the others after it; with
    the usual 1e-8 that alone moves the float64 loss after one epoch by ~1e-5 relative, so
    float64 runs use 1e-14, where the three do the same arithmetic (to ~1e-10). float32
    keeps 1e-8: there a tiny eps turns the smallest gradients into full steps and their
    moments into subnormal numbers (slow, and rounding-dominated), and the float32
    check's tolerance (1e-3) covers the difference anyway.
    """
    return 1e-14 if dtype == "float64" else 1e-8


# -- the shared problem: data, initial weights, batch order -----------------------------------


def problem(case: Case) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Synthetic data with learnable labels and He/Xavier-normal initial weights, float64.

    tiny/online: two Gaussian features, label = 1 when a noisy x1 + x2 > 0; small and
    large: features uniform in [0, 1) (pixel-like), labels the argmax of a random linear
    teacher. Every process calls this with the same case and gets the same arrays.
    """
    rng = np.random.default_rng([case.seed, case.n, *case.layers])
    n_in, n_out = case.layers[0], case.layers[-1]
    if case.task == "binary":
        X = rng.normal(size=(case.n, n_in))
        y = (X.sum(axis=1) + 0.5 * rng.normal(size=case.n) > 0).astype(np.int64)
    else:
        X = rng.random((case.n, n_in))
        y = np.argmax((X - 0.5) @ rng.normal(size=(n_in, n_out)), axis=1)
    weights = []
    for k, (fan_in, fan_out) in enumerate(zip(case.layers, case.layers[1:])):
        relu_below = case.hidden == "relu" and k < len(case.layers) - 2
        std = np.sqrt((2.0 if relu_below else 1.0) / fan_in)
        weights.append((rng.normal(0.0, std, size=(fan_in, fan_out)), np.zeros(fan_out)))
    return X, y, weights


def order(case: Case, epoch: int) -> np.ndarray:
    """The shuffled sample order of one epoch, the same in every process."""
    return np.random.default_rng([case.seed, 7, epoch]).permutation(case.n)


def reference_loss(case: Case, weights) -> float:
    """The mean training loss of a set of weights, computed in float64 by one function for all:
    binary cross-entropy on a sigmoid output, or softmax cross-entropy."""
    X, y, _ = problem(case)
    a = X
    for k, (W, b) in enumerate(weights):
        z = a @ W + b
        last = k == len(weights) - 1
        a = z if last else (np.maximum(z, 0.0) if case.hidden == "relu" else 1.0 / (1.0 + np.exp(-z)))
    if case.task == "binary":
        z = a[:, 0]
        return float(np.mean(np.logaddexp(0.0, z) - y * z))  # -log sigma(z) or -log(1 - sigma(z))
    z = a - a.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


# -- the implementations (each lives in its own worker process) -------------------------------


class Implementation:
    """Builds a case with :meth:`setup`, trains epoch ``e`` with :meth:`epoch` (returns the
    seconds it took), hands back its weights as float64 ``[(W, b), ...]``."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._limit_threads()
        self.case: Case | None = None

    def _limit_threads(self) -> None:
        """Every thread pool loaded so far to ``threads``. Called again after each set-up: a peer's
        first use loads more libraries (scikit-learn: SciPy's own OpenBLAS and OpenMP)."""
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(self.threads)  # kept: the limit lasts as long as the object

    def setup(self, case: dict) -> dict[str, Any]:
        self.case = None
        self.release()
        gc.collect()
        self.case = Case(**{**case, "layers": tuple(case["layers"])})
        X, y, weights = problem(self.case)
        self.build(X, y, weights)
        del X, y, weights
        gc.collect()
        self._limit_threads()
        # the peak from here on is training's: the data generation's temporaries are gone
        common.reset_peak_rss()
        self.rss_after_setup = common.rss_mib()
        return {"threads": self.thread_info()}

    def epoch(self, e: int) -> float:
        perm = order(self.case, e)
        start = time.perf_counter()
        self.train(perm)
        return time.perf_counter() - start

    def memory(self) -> dict[str, float | None]:
        """Peak RSS of this case's training (MiB, the whole process: its data and network included),
        and how far training pushed it above the set-up state."""
        peak = common.peak_rss_mib()
        return {"peak_mib": peak, "train_extra_mib": None if peak is None else peak - self.rss_after_setup}

    def thread_info(self) -> list[dict[str, Any]]:
        return common.thread_report()

    def release(self) -> None: ...
    def build(self, X, y, weights) -> None: ...
    def train(self, perm: np.ndarray) -> None: ...
    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]: ...


class Gradlab(Implementation):
    """gradlab's engine through :func:`gradlab.training.train_epoch`, as ``gradlab train`` runs it."""

    def build(self, X, y, weights):
        from gradlab.engine.losses import as_targets, losses
        from gradlab.engine.network import Network
        from gradlab.engine.optimizers import optimizers

        c, dtype = self.case, np.dtype(self.case.dtype)
        output = "sigmoid" if c.task == "binary" else "softmax"
        self.network = Network.from_weights([(W.astype(dtype), b.astype(dtype)) for W, b in weights],
                                            c.hidden, output)
        self.loss = losses.create("bce" if c.task == "binary" else "cross_entropy")
        adam = {**ADAM, "eps": adam_eps(c.dtype)}
        spec = {"name": c.optimizer, "lr": c.lr, **(adam if c.optimizer == "adam" else {})}
        self.optimizer = optimizers.create(spec)
        self.X = np.ascontiguousarray(X, dtype=dtype)
        self.Y = np.ascontiguousarray(as_targets(y, np.empty((c.n, c.layers[-1]), dtype)), dtype=dtype)

    def train(self, perm):
        from gradlab.training import train_epoch

        train_epoch(self.network, self.loss, self.optimizer, self.X, self.Y, self.case.batch, self.case.lr,
                    order=perm)

    def weights(self):
        return [(layer.W.astype(np.float64), layer.b.astype(np.float64)) for layer in self.network.layers]

    def release(self):
        self.network = self.X = self.Y = None


class Torch(Implementation):
    """PyTorch CPU, the idiomatic loop: zero_grad, forward, loss, backward, step per batch."""

    def __init__(self, threads):
        super().__init__(threads)
        import torch

        torch.set_num_threads(threads)
        self.torch = torch

    def build(self, X, y, weights):
        torch, c = self.torch, self.case
        dtype = getattr(torch, c.dtype)
        modules = []
        for k, (W, b) in enumerate(weights):
            linear = torch.nn.Linear(*W.shape, dtype=dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T))
                linear.bias.copy_(torch.from_numpy(b))
            modules.append(linear)
            if k < len(weights) - 1:
                modules.append(torch.nn.ReLU() if c.hidden == "relu" else torch.nn.Sigmoid())
        self.model = torch.nn.Sequential(*modules)
        self.X = torch.from_numpy(np.ascontiguousarray(X, dtype=c.dtype))
        if c.task == "binary":
            self.Y = torch.from_numpy(y.astype(c.dtype).reshape(-1, 1))
            self.loss = torch.nn.BCEWithLogitsLoss()
        else:
            self.Y = torch.from_numpy(y)
            self.loss = torch.nn.CrossEntropyLoss()
        if c.optimizer == "adam":
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=c.lr,
                                              betas=(ADAM["beta1"], ADAM["beta2"]), eps=adam_eps(c.dtype))
        else:
            self.optimizer = torch.optim.SGD(self.model.parameters(), lr=c.lr)

    def train(self, perm):
        torch, model, loss, opt, batch = self.torch, self.model, self.loss, self.optimizer, self.case.batch
        idx = torch.from_numpy(perm)
        for start in range(0, self.case.n, batch):
            i = idx[start:start + batch]
            opt.zero_grad()
            loss(model(self.X[i]), self.Y[i]).backward()
            opt.step()

    def weights(self):
        linears = [m for m in self.model if isinstance(m, self.torch.nn.Linear)]
        return [(m.weight.detach().numpy().T.astype(np.float64), m.bias.detach().numpy().astype(np.float64))
                for m in linears]

    def thread_info(self):
        return common.thread_report() + [{"internal_api": "torch", "num_threads": self.torch.get_num_threads(),
                                          "version": self.torch.__version__}]

    def release(self):
        self.model = self.X = self.Y = self.optimizer = None


class Sklearn(Implementation):
    """scikit-learn's MLPClassifier, one ``partial_fit`` per batch (one update each)."""

    def build(self, X, y, weights):
        import warnings

        from sklearn.neural_network import MLPClassifier

        # the last batch of an epoch is shorter than batch_size, which partial_fit warns about
        warnings.filterwarnings("ignore", message="Got `batch_size`")

        c = self.case
        self.X = np.ascontiguousarray(X, dtype=c.dtype)
        self.y = y
        self.model = MLPClassifier(
            hidden_layer_sizes=c.layers[1:-1], activation="relu" if c.hidden == "relu" else "logistic",
            solver=c.optimizer, alpha=0.0, batch_size=c.batch, learning_rate_init=c.lr,
            learning_rate="constant", momentum=0.0, nesterovs_momentum=False, shuffle=False,
            beta_1=ADAM["beta1"], beta_2=ADAM["beta2"], epsilon=adam_eps(c.dtype), random_state=0)
        self.classes = np.arange(max(2, c.layers[-1]))
        # partial_fit allocates the coefficients on its first call; that call also updates
        # them, so the shared initial weights are written afterwards and the optimizer
        # (built on the first call) is dropped to start again from step 0
        self.model.partial_fit(self.X[: c.batch], y[: c.batch], classes=self.classes)
        for (W, b), coef, intercept in zip(weights, self.model.coefs_, self.model.intercepts_):
            coef[...] = W
            intercept[...] = b
        del self.model._optimizer

    def train(self, perm):
        model, X, y, batch = self.model, self.X, self.y, self.case.batch
        for start in range(0, self.case.n, batch):
            i = perm[start:start + batch]
            model.partial_fit(X[i], y[i])

    def weights(self):
        return [(W.astype(np.float64), b.astype(np.float64))
                for W, b in zip(self.model.coefs_, self.model.intercepts_)]

    def release(self):
        self.model = self.X = self.y = None


class Gemm(Implementation):
    """The matrix products of an epoch and nothing else: the floor for this design."""

    def build(self, X, y, weights):
        c = self.case
        self.X = np.ascontiguousarray(X, dtype=c.dtype)
        self.W = [np.ascontiguousarray(W, dtype=c.dtype) for W, _ in weights]
        b = min(c.batch, c.n)
        self.z = [np.empty((b, W.shape[1]), c.dtype) for W in self.W]  # activations and deltas
        self.d = [np.empty((b, W.shape[0]), c.dtype) for W in self.W]  # dC/dx of each layer
        self.g = [np.empty_like(W) for W in self.W]
        self._weights = weights

    def train(self, perm):
        X, W, z, d, g, batch = self.X, self.W, self.z, self.d, self.g, self.case.batch
        matmul = np.matmul
        for start in range(0, self.case.n, batch):
            xb = X[start:start + batch]
            m = xb.shape[0]
            a = xb
            for Wk, zk in zip(W, z):
                matmul(a, Wk, out=zk[:m])
                a = zk[:m]
            delta = z[-1][:m]
            for k in range(len(W) - 1, -1, -1):
                below = xb if k == 0 else z[k - 1][:m]
                matmul(below.T, delta, out=g[k])
                if k:
                    matmul(delta, W[k].T, out=d[k][:m])
                    delta = d[k][:m]

    def weights(self):
        return self._weights  # never trained: excluded from the equal-loss check

    def release(self):
        self.X = self.W = self.z = self.d = self.g = None


FACTORIES = {"gradlab": Gradlab, "torch": Torch, "sklearn": Sklearn, "gemm": Gemm}


# -- the driver ------------------------------------------------------------------------------


def available(impl: str) -> str | None:
    """None if the implementation can run here, else why not."""
    module = PEERS.get(impl)
    if module is None:
        return None
    if not common.installed(module):
        return f"{impl} skipped: {module} is not installed {common.INSTALL_HINT}"
    return None


def cases_for(args) -> list[Case]:
    cases = []
    for size in args.sizes:
        base = SIZES[size]
        if args.quick and size in QUICK_SAMPLES:
            base = replace(base, n=QUICK_SAMPLES[size])
        for dtype in args.dtypes:
            for optimizer in args.optimizers:
                cases.append(replace(base, dtype=dtype, optimizer=optimizer))
    return cases


def repeats_for(case: Case, args) -> int:
    if args.repeats:
        return args.repeats
    return 3 if args.quick else (5 if case.size == "large" else 9)


def equal_work_tolerance(case: Case) -> float:
    """How close the loss after one epoch must be to gradlab's for the work to count as equal.

    float64: 1e-6 relative (the implementations agree to 1e-9 or better). float32 is as
    close as float32 itself allows: 1e-3 for SGD; for Adam 0.1, because Adam's first steps
    move every weight by about lr whatever the size of its gradient, so the sign of a
    gradient that is pure rounding noise decides a full step: on the large network
    gradlab's own float32 and float64 runs end the first Adam epoch 7% apart (and PyTorch's
    float32 4% from gradlab's, scikit-learn's, which rounds as NumPy does, 1e-9).
    """
    if case.dtype == "float64":
        return 1e-6
    return 0.1 if case.optimizer == "adam" else 1e-3


def unequal_threads(threads: dict[str, list[dict[str, Any]]], wanted: int) -> list[str]:
    """The thread pools of the workers' reports that do not run ``wanted`` threads, e.g.
    ``['sklearn: openmp x2']``: the issue asks for equal thread counts in every implementation."""
    return [f"{name}: {common.blas_summary([pool])}" for name, pools in threads.items() for pool in pools
            if pool.get("num_threads") != wanted]


def spread_notes(result: dict[str, Any], limit: float = 2.0) -> list[str]:
    """The implementations whose timed epochs of one case differ by more than ``limit`` times,
    e.g. ``'gradlab 245-2470 ms'``: a machine that is busy, or that switches between a fast and a
    slow state (this project's 2-core VM runs some epochs at half speed for seconds at a time),
    makes a median of such epochs uncertain, the more so with the 3 of ``--quick``."""
    return [f"{name} {min(ts) * 1e3:.4g}-{max(ts) * 1e3:.4g} ms" for name, ts in result["times_s"].items()
            if ts and max(ts) > limit * min(ts)]


def run_case(case: Case, workers: dict[str, common.Worker], args, console) -> dict[str, Any]:
    spec = asdict(case)
    threads = {name: w.call("setup", spec)["threads"] for name, w in workers.items()}
    odd = unequal_threads(threads, args.threads)
    if odd:
        console.print(f"{case.label}: thread pools not at {args.threads} threads: {'; '.join(odd)}",
                      style="yellow", markup=False)
    # the equal-work check: one epoch from the same start, the loss of each result
    losses = {}
    for name, worker in workers.items():
        worker.call("epoch", 0)
        if name != "gemm":
            losses[name] = reference_loss(case, worker.call("weights"))
    ref = losses.get("gradlab")
    tolerance = equal_work_tolerance(case)
    equal = {name: abs(v - ref) / abs(ref) for name, v in losses.items()} if ref else {}
    times: dict[str, list[float]] = {name: [] for name in workers}
    for r in range(repeats_for(case, args)):
        for name, worker in workers.items():  # interleaved: A B C D A B C D ...
            # the one before (or this process's reference loss) may still have threads spinning
            common.settle([os.getpid(), *(w.pid for w in workers.values())])
            times[name].append(worker.call("epoch", r + 1))
    memory = {name: w.call("memory") for name, w in workers.items()}
    result = {"case": case.label, "label": short(case), **spec, "flops": case.flops, "loss_after_1": losses,
              "relative_difference": equal, "tolerance": tolerance,
              "times_s": times, "median_s": {k: common.median(v) for k, v in times.items()},
              "memory": memory, "threads": threads}
    bad = [k for k, v in equal.items() if not v <= tolerance]  # a nan loss is not equal work
    if bad:
        console.print(f"[red]{case.label}: {', '.join(bad)} reached a different loss after one epoch "
                      f"({', '.join(f'{k} {equal[k]:.2g}' for k in bad)} relative): not compared[/]")
    result["unequal"] = bad
    spread = spread_notes(result)
    if spread:
        console.print(f"{case.label}: epochs more than 2x apart ({', '.join(spread)}): the machine's speed "
                      "changed during the case, and its medians are uncertain", style="yellow", markup=False)
    return result


def ratio(result, a: str, b: str) -> float | None:
    """``a``'s median epoch over ``b``'s (None when either is missing or did other work)."""
    med = result["median_s"]
    if a not in med or b not in med or b in result["unequal"] or a in result["unequal"]:
        return None
    return med[a] / med[b]


def per_round_ratio(result, a: str, b: str) -> float | None:
    """The median over the rounds of ``a``'s epoch over ``b``'s in the same round (see :class:`common.Goal`).

    The implementations take turns round by round, so a round's two epochs are seconds apart: when
    this machine switches between its fast and half-speed states, a round seen wholly in one state
    keeps its ratio, where the ratio of the medians can take one side's median from each state."""
    if ratio(result, a, b) is None:
        return None
    times = result["times_s"]
    return common.median([x / y for x, y in zip(times[a], times[b])])


def short(case: Case) -> str:
    return f"{case.size} {case.dtype.replace('float', 'f')} {case.optimizer}"


def results_table(results):
    """Median time per epoch of each implementation, gradlab's ratios to each, its GFLOP/s."""
    from rich.table import Table

    table = Table(title="Time per epoch, median (ms); gradlab's time as a fraction of the others'",
                  title_justify="left")
    for col in ("case", "gradlab", "torch", "sklearn", "GEMM floor", "÷ torch", "÷ sklearn", "÷ floor",
                "GFLOP/s"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for res in results:
        med = res["median_s"]
        ms = [f"{med[k] * 1e3:.4g}" if k in med else "-" for k in IMPLEMENTATIONS]
        ratios = [ratio(res, "gradlab", k) for k in ("torch", "sklearn", "gemm")]
        gflops = res["flops"] / med["gradlab"] / 1e9 if "gradlab" in med else None
        table.add_row(res["label"], *ms, *(f"{r:.2f}" if r is not None else "-" for r in ratios),
                      f"{gflops:.3g}" if gflops else "-")
    return table


def memory_table(results):
    """Peak resident memory per implementation (its own process) and the equal-work check."""
    from rich.table import Table

    table = Table(title="Peak memory (MiB, whole process) and the loss after one epoch", title_justify="left")
    for col in ("case", "gradlab", "torch", "sklearn", "loss (gradlab)", "worst rel. difference"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for res in results:
        peaks = [f"{res['memory'][k]['peak_mib']:.0f}" if k in res["memory"] else "-"
                 for k in ("gradlab", "torch", "sklearn")]
        diff = {k: v for k, v in res["relative_difference"].items() if k != "gradlab"}
        worst = max(diff.values(), default=None)
        check = "-" if worst is None else f"{worst:.1e}" + (" [red]not equal[/]" if res["unequal"] else "")
        loss = res["loss_after_1"].get("gradlab")
        table.add_row(res["label"], *peaks, f"{loss:.6g}" if loss is not None else "-", check)
    return table


def goals(results) -> list[common.Goal]:
    """The issue's targets, from the medians (worst case over dtypes and optimizers), each with its
    :func:`per_round_ratio` beside it."""
    out = []

    def worst(size, peer, dtype=None, of=ratio):
        values = [of(r, "gradlab", peer) for r in results
                  if r["size"] == size and (dtype is None or r["dtype"] == dtype)]
        values = [v for v in values if v is not None]
        return max(values) if values else None

    wanted = [("tiny", "torch", 0.5, None), ("tiny", "sklearn", 0.5, None), ("small", "torch", 0.5, None),
              ("small", "sklearn", 0.5, None), ("online", "torch", 0.35, None)]
    for dtype in DTYPES:
        wanted += [("large", "torch", 0.85, dtype), ("large", "gemm", 1.25, dtype)]
    for size, peer, limit, dtype in wanted:
        value = worst(size, peer, dtype)
        if value is not None:
            name = f"{size}{' ' + dtype if dtype else ''}: gradlab / {'GEMM floor' if peer == 'gemm' else peer}"
            out.append(common.Goal(name, value, limit, per_round=worst(size, peer, dtype, of=per_round_ratio)))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 repeats, large on 6,000 samples, online on 250 (~1 minute on 2 cores)")
    parser.add_argument("--sizes", type=lambda s: s.split(","), default=list(SIZES), help=",".join(SIZES))
    parser.add_argument("--dtypes", type=lambda s: s.split(","), default=list(DTYPES), help=",".join(DTYPES))
    parser.add_argument("--optimizers", type=lambda s: s.split(","), default=list(OPTIMIZERS), help=",".join(OPTIMIZERS))
    parser.add_argument("--implementations", type=lambda s: s.split(","), default=list(IMPLEMENTATIONS),
                        help=",".join(IMPLEMENTATIONS))
    parser.add_argument("--repeats", type=int, default=0, help="timed epochs per implementation and case")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for every implementation")
    parser.add_argument("--out", default=None, help="run root (default: $GRADLAB_RUNS or ./runs)")
    args = parser.parse_args(argv)
    common.check_choices(parser, args, {"sizes": SIZES, "dtypes": DTYPES, "optimizers": OPTIMIZERS,
                                        "implementations": IMPLEMENTATIONS})

    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 110)
    info = common.machine()
    console.print(f"[bold]{info['cpu']}[/], {info['cores']} cores, numpy {info['numpy']} on {info['numpy_blas']}, "
                  f"{args.threads} threads each")
    common.warn_blas_overrides(console)
    for case in cases_for(args)[:: max(1, len(args.dtypes) * len(args.optimizers))]:
        console.print(f"  {case.size}: {'-'.join(map(str, case.layers))}, {case.n:,} samples, batch {case.batch}, "
                      f"{case.hidden} + {'sigmoid/bce' if case.task == 'binary' else 'softmax cross-entropy'}")
    impls = []
    for impl in args.implementations:
        why = available(impl)
        if why:
            console.print(why, style="yellow", markup=False)  # markup would eat the '[bench]' of the hint
        else:
            impls.append(impl)
    results = []
    workers = {name: common.Worker(FACTORIES[name], args.threads) for name in impls}
    try:
        cases = cases_for(args)
        for k, case in enumerate(cases, 1):
            console.print(f"[dim]{k}/{len(cases)} {case.label}[/]")
            results.append(run_case(case, workers, args, console))
    finally:
        for w in workers.values():
            w.close()
    if results:  # each worker's own thread pools, as threadpoolctl (and torch) report them
        console.print("threads: " + "; ".join(f"{name} {common.blas_summary(pools)}"
                                              for name, pools in results[-1]["threads"].items()))
    console.print(results_table(results))
    console.print(memory_table(results))
    met = goals(results)
    console.print(common.goals_table(met))
    rows = [{"case": r["case"], "implementation": name, "median_s": r["median_s"][name],
             "gflops": r["flops"] / r["median_s"][name] / 1e9, "peak_mib": r["memory"][name]["peak_mib"],
             "train_extra_mib": r["memory"][name]["train_extra_mib"],
             "loss_after_1": r["loss_after_1"].get(name), "equal_work": name not in r["unequal"]}
            for r in results for name in r["median_s"]]
    common.record("engine", {**vars(args), "machine": info}, rows,
                  {"machine": info, "results": results, "goals": [g.as_dict() for g in met]}, args.out, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
