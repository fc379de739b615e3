from __future__ import annotations

import pytest

from stream.core.policy import Policy, load_policy
from stream.settings import DEFAULT_POLICY


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(DEFAULT_POLICY)
