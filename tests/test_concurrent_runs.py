"""Eight `gradlab train` processes started together into one --out: eight distinct, complete runs."""

import json
import subprocess
import sys

from tests.conftest import run_dirs, subprocess_env

TINY = "name: race\nseed: 0\ndata: {name: xor, n_samples: 40}\nmodel: {hidden: [3]}\nloss: bce\n" \
       "optimizer: {name: sgd, lr: 0.5}\ntraining: {epochs: 5, batch_size: full}\n"


def test_eight_concurrent_trains_into_one_out(tmp_path):
    config = tmp_path / "race.yaml"
    config.write_text(TINY)
    out = tmp_path / "shared"
    procs = [subprocess.Popen([sys.executable, "-m", "gradlab", "train", str(config), "--out", str(out),
                               "--no-plot", "-q", "--set", f"seed={k}"],
                              env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(8)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    runs = run_dirs(out)
    assert len(runs) == 8 == len({r.name for r in runs})
    seeds = set()
    for run in runs:
        assert {"config.yaml", "metrics.csv", "summary.json", "model.npz"} <= {p.name for p in run.iterdir()}
        summary = json.loads((run / "summary.json").read_text())
        assert summary["status"] == "completed" and summary["epochs"] == 5 and summary["id"] == run.name
        assert len((run / "metrics.csv").read_text().splitlines()) == 7  # header + epochs 0..5
        seeds.add(int((run / "config.yaml").read_text().split("seed:")[1].split()[0]))
    assert seeds == set(range(8))  # each process wrote its own run, none overwrote another
