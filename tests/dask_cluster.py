"""A small Dask LocalCluster for the tests that need one (2 worker processes, 1 thread each).

Imported by the test modules that use Dask; each starts at most one cluster per module
(about 3 s) and shuts it down at the end. Skips with the reason when Dask is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


def local_client(processes: bool = True, memory_limit: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` on a fresh 2-worker LocalCluster, closed afterwards."""
    pytest.importorskip("distributed", reason="Dask is an optional extra: pip install 'chainrule[dask]'")
    from distributed import Client, LocalCluster

    options: dict[str, Any] = {"memory_limit": memory_limit} if memory_limit else {}
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=":0",
                           **options)  # fmt: skip
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
