"""The suite leaves the checkout as it found it."""

from pathlib import Path

from hypothesis.configuration import storage_directory

from tests.conftest import REPO


def test_hypothesis_stores_nothing_in_the_repo():
    # hypothesis's own answer: the directory as a string in older versions, an object naming its home in newer
    place = storage_directory("constants")
    where = Path(getattr(place, "home_directory", place)).resolve()
    assert REPO not in where.parents and where != REPO


def test_tests_run_outside_the_repo():
    assert REPO not in Path.cwd().resolve().parents and Path.cwd().resolve() != REPO
