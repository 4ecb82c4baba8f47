import os
import sys

import pytest
from hypothesis import settings

sys.path.insert(0, os.path.dirname(__file__))  # the oracle module

from xlhtx.reference.snapshot import snapshot  # noqa: E402

# `make test` draws the same examples every run (derandomized, no examples database in the
# repository); `pytest --hypothesis-profile=explore --hypothesis-seed=N` draws new ones. The
# properties must hold under any seed: a failure found while exploring becomes an @example.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, database=None, print_blob=True)
settings.load_profile("ci")


@pytest.fixture(scope="session")
def table():
    return snapshot()
