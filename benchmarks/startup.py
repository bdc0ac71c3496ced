"""How fast the CLI starts, against the floors it cannot go below.

    python benchmarks/startup.py            # 15 rounds
    python benchmarks/startup.py --rounds 5

Each command runs as a fresh process, the commands taking turns round by round; the
medians are compared:

- ``gradlab --help`` against the ``--help`` of a bare two-command Typer app (the cost of
  Python + Typer + rich, which every Typer CLI pays);
- ``gradlab descend --no-plot`` (the default function, 100 steps at most) against
  ``python -c "import numpy, sympy"`` (the two libraries it needs);
- ``gradlab descend`` with its plots against the same run without them plus
  what matplotlib itself needs to import, draw and save a figure like descend's (a script
  doing only that, less Python's own start): plots should add only matplotlib's cost.

Results: a rich table, and ``results.csv``/``results.json`` in a run directory.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

BARE_TYPER_APP = '''
import typer
app = typer.Typer()
@app.command()
def hello(name: str = "world"):
    """Say hello."""
@app.command()
def bye():
    """Say goodbye."""
app()
'''

# matplotlib's own cost for what descend draws: one two-panel Agg figure, a 400-point curve
# with ~100 marked iterates and a log-scale panel, saved as a PNG at 120 dpi
MATPLOTLIB_FIGURE = '''
import sys
import numpy as np
from matplotlib.figure import Figure
fig = Figure(figsize=(11.0, 4.5), layout="constrained")
left, right = fig.subplots(1, 2)
x = np.linspace(-4, 8, 400)
left.plot(x, x**2 - 4*x + 6)
left.plot(np.linspace(8, 2, 95), np.linspace(38, 2, 95), "o-", ms=3)
right.semilogy(np.arange(95), np.geomspace(36, 1e-14, 95), "o-", ms=3)
fig.savefig(sys.argv[1], dpi=120)
'''


def commands(scratch: Path) -> dict[str, list[str]]:
    py = sys.executable
    bare = scratch / "bare_typer.py"
    bare.write_text(BARE_TYPER_APP)
    figure = scratch / "figure.py"
    figure.write_text(MATPLOTLIB_FIGURE)
    runs = str(scratch / "runs")
    gradlab = [py, "-m", "gradlab"]
    return {
        "bare typer --help": [py, str(bare), "--help"],
        "gradlab --help": [*gradlab, "--help"],
        "python": [py, "-c", "pass"],
        "import numpy, sympy": [py, "-c", "import numpy, sympy"],
        "gradlab descend --no-plot": [*gradlab, "descend", "--no-plot", "--out", runs],
        "gradlab descend": [*gradlab, "descend", "--out", runs],
        "matplotlib figure": [py, str(figure), str(scratch / "figure.png")],
    }


# as a user's Python runs: byte-code caches written and read (a sandbox may switch them off)
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


#: the issue's start-up goals: a name, the measure as a function of one time per command, the limit
GOALS = (
    ("gradlab --help / bare Typer --help", lambda t: t["gradlab --help"] / t["bare typer --help"], 1.3),
    ("descend --no-plot / import numpy, sympy", lambda t: t["gradlab descend --no-plot"] / t["import numpy, sympy"],
     2.0),
    # what the plots add, against what matplotlib itself costs beyond Python's start
    ("descend's plots / matplotlib's own import + draw + save",
     lambda t: (t["gradlab descend"] - t["gradlab descend --no-plot"]) / (t["matplotlib figure"] - t["python"]), 1.25),
)


def goals_of(times: dict[str, list[float]]) -> list[common.Goal]:
    """Each goal measured on the medians (its verdict), and as the median of its rounds' own values: the
    commands take turns, so a round's runs are a second apart and share the machine's state."""
    med = {name: common.median(ts) for name, ts in times.items()}
    rounds = [dict(zip(times, values)) for values in zip(*times.values())]
    return [common.Goal(name, of(med), limit, per_round=common.median([of(r) for r in rounds]))
            for name, of, limit in GOALS]


def time_once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=CHILD_ENV)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", default=None, help="run root (default: $GRADLAB_RUNS or ./runs)")
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    console = Console()
    common.warn_blas_overrides(console)
    info = common.machine()
    with tempfile.TemporaryDirectory() as tmp:
        cmds = commands(Path(tmp))
        for argv_ in cmds.values():  # warm the file cache and the byte-code caches
            time_once(argv_)
        times: dict[str, list[float]] = {name: [] for name in cmds}
        for _ in range(args.rounds):
            for name, argv_ in cmds.items():
                times[name].append(time_once(argv_))
    med = {name: common.median(v) for name, v in times.items()}

    table = Table(title=f"Start-up, median of {args.rounds} runs", title_justify="left")
    table.add_column("command")
    table.add_column("median s", justify="right")
    table.add_column("min s", justify="right")
    for name in cmds:
        table.add_row(name, f"{med[name]:.3f}", f"{min(times[name]):.3f}")
    console.print(table)
    goals = goals_of(times)
    console.print(common.goals_table(goals))
    rows = [{"command": name, "median_s": med[name], "min_s": min(times[name]), "runs": len(times[name])}
            for name in cmds]
    common.record("startup", {**vars(args), "machine": info}, rows,
                  {"machine": info, "times_s": times, "median_s": med, "goals": [g.as_dict() for g in goals]},
                  args.out, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
