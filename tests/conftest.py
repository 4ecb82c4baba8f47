import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # the oracle module

from xlhtx.reference.snapshot import snapshot  # noqa: E402


@pytest.fixture(scope="session")
def table():
    return snapshot()
