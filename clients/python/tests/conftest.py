"""Fixtures: the broker tests/integration/test_api_python.sh started (a real
toolq-broker with workers, PostgreSQL and the echo server) and the API keys
it created. Run through scripts/test; alone, the tests skip."""
import os

import pytest

from toolq_client import Client


def _env(name: str) -> str:
    v = os.environ.get(name)
    if not v:
        pytest.skip(f"{name} is not set: run through tests/integration/test_api_python.sh")
    return v


@pytest.fixture
def url() -> str:
    return _env("TOOLQ_URL")


@pytest.fixture
def client(url: str):
    with Client(url, _env("TOOLQ_KEY_A")) as c:
        yield c


@pytest.fixture
def other(url: str):
    with Client(url, _env("TOOLQ_KEY_B")) as c:
        yield c


@pytest.fixture
def spec() -> str:
    return _env("TOOLQ_ECHO_SPEC")


@pytest.fixture
def echo_url() -> str:
    return _env("TOOLQ_ECHO_URL")
