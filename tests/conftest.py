"""Shared fixtures: every test runs in its own temporary directory, never in the repo."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("COLUMNS", "160")  # rich tables are not cropped in captured output
os.environ["MPLBACKEND"] = "Agg"  # no display needed
# hypothesis keeps a cache in ./.hypothesis unless told otherwise; the repo is not the place for it
os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = tempfile.mkdtemp(prefix="gradlab-hypothesis-")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

settings.register_profile("gradlab", database=None, deadline=None, max_examples=60)
settings.load_profile("gradlab")

# pytest.approx(x, rel=...) also passes anything within 1e-12 of x unless abs is given: every
# comparison of a number below ~1e-6 passed whatever it was (three such checks had gone vacuous:
# 1e-21 eps against 1.18376e-21, a std of 1e-200 against 0). Here the relative tolerance alone
# decides; a check that means an absolute one says abs=
try:  # pytest's own module: should a later pytest move the class, the guard is off, the suite still runs
    from _pytest.python_api import ApproxScalar  # noqa: E402
except ImportError:  # pragma: no cover
    ApproxScalar = None
if hasattr(ApproxScalar, "DEFAULT_ABSOLUTE_TOLERANCE"):
    ApproxScalar.DEFAULT_ABSOLUTE_TOLERANCE = 0.0

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Run in a temporary directory with run directories under it, so nothing lands in the repo."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRADLAB_RUNS", str(tmp_path / "runs"))


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def cli(capsys):
    """Call ``gradlab`` in-process: ``cli("descend", "--lr", 0.1)`` -> CliResult(code, out, err)."""
    from gradlab.cli.app import main

    def run(*args) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for running gradlab in a subprocess: this checkout first on the path."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    env.update(extra)
    return env


def run_dirs(root: Path) -> list[Path]:
    """The run directories under ``root`` (sorted by name)."""
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []


def refuse_listing(monkeypatch, *folders: Path) -> None:
    """Make ``Path.iterdir`` refuse these folders as it refuses a folder without read permission
    (``chmod a-r``): PermissionError when the listing is read. The tests run as root, whom chmod
    does not stop."""
    import errno

    refused = {Path(folder) for folder in folders}
    iterdir = Path.iterdir

    def refusing(self):
        if self in refused:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        yield from iterdir(self)

    monkeypatch.setattr(Path, "iterdir", refusing)
