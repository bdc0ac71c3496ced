"""The suite leaves the checkout as it found it."""

from pathlib import Path

from hypothesis.configuration import storage_directory

from tests.conftest import REPO


def test_hypothesis_stores_nothing_in_the_repo():
    where = storage_directory("constants", intent_to_write=False).home_directory.resolve()
    assert REPO not in where.parents and where != REPO


def test_tests_run_outside_the_repo():
    assert REPO not in Path.cwd().resolve().parents and Path.cwd().resolve() != REPO
