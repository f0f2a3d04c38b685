"""The Dask tests' cluster takes a free port for its dashboard (issue 14, item 17).

With ``dashboard_address=None`` distributed's scheduler still served HTTP on its
default port 8787 and warned "Port 8787 is already in use" whenever another
cluster (or anything) held it. The fixture of test_dask now asks for port 0 (a free
one). Checked here with 8787 held: no warning, and the server is elsewhere.
"""

from __future__ import annotations

import socket
import warnings
from collections.abc import Iterator

import pytest

pytest.importorskip("dask.distributed")

from test_dask import client  # noqa: F401  (the fixture under test)


@pytest.fixture(scope="module")
def port_8787_taken() -> Iterator[None]:
    """Hold port 8787 (if nobody else does already) while the cluster starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("0.0.0.0", 8787))
        sock.listen(1)
    except OSError:  # already held by someone else: the same situation
        pass
    try:
        yield
    finally:
        sock.close()


@pytest.mark.filterwarnings("error:Port 8787 is already in use")
def test_the_dask_cluster_uses_a_free_port_without_warning(
    port_8787_taken: None, request: pytest.FixtureRequest
) -> None:
    cluster_client = request.getfixturevalue("client")  # started while 8787 is held
    info = cluster_client.scheduler_info()
    port = info["services"].get("dashboard")
    assert port not in (None, 8787)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cluster_client.submit(sum, [1, 2]).result() == 3
