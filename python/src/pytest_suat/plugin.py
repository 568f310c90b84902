"""pytest fixtures for suat, loaded automatically once `pytest-suat` is installed (entry point `pytest11`).

- `suat_server` (session): one `suat serve` for the whole run, on a free port, with an in-memory store and the
  seed (`--suat-seed`, default: the bundled copy of the repository's examples/seed.toml).
- `suat` (function): the same server, reset to the seeded state before the test (clock, faults and rate-limit
  counts included), so tests do not see each other's tokens.
- `suat_facebook_business`, `suat_facebook_sdk` (function): `suat`, with the SDK pointed at it for the test.

Options (command line, or the ini key in brackets): `--suat-bin PATH` [suat_bin] (else $SUAT_BIN, else `suat` on
PATH), `--suat-seed PATH` [suat_seed] (`none` for an empty server).
"""
from __future__ import annotations

from typing import Iterator

import pytest

from . import DEFAULT_SEED, Suat


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("suat", "suat Graph API emulator")
    group.addoption("--suat-bin", dest="suat_bin", default=None,
                    help="the suat binary (default: $SUAT_BIN, else `suat` on PATH)")
    group.addoption("--suat-seed", dest="suat_seed", default=None,
                    help="seed file for the server (default: the bundled demo seed; `none` for no objects)")
    parser.addini("suat_bin", "the suat binary (default: $SUAT_BIN, else `suat` on PATH)", default=None)
    parser.addini("suat_seed", "seed file for the server (`none` for no objects)", default=None)


def _option(config: pytest.Config, name: str):
    return config.getoption(name) or config.getini(name) or None


@pytest.fixture(scope="session")
def suat_server(pytestconfig: pytest.Config) -> Iterator[Suat]:
    """One suat server for the session; prefer `suat`, which also resets it before each test."""
    seed = _option(pytestconfig, "suat_seed")
    if seed is None:
        seed = DEFAULT_SEED
    elif str(seed).lower() == "none":
        seed = None
    server = Suat.start(binary=_option(pytestconfig, "suat_bin"), seed=seed)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def suat(suat_server: Suat) -> Suat:
    """The session's suat server, back in its seeded state (clock, faults, rate limits included)."""
    suat_server.reset()
    return suat_server


@pytest.fixture
def suat_facebook_business(suat: Suat) -> Iterator[Suat]:
    """`suat`, with facebook-business's FacebookSession.GRAPH pointed at it during the test."""
    undo = suat.patch_facebook_business()
    try:
        yield suat
    finally:
        undo()


@pytest.fixture
def suat_facebook_sdk(suat: Suat) -> Iterator[Suat]:
    """`suat`, with facebook-sdk's FACEBOOK_GRAPH_URL pointed at it during the test."""
    undo = suat.patch_facebook_sdk()
    try:
        yield suat
    finally:
        undo()
