"""Connecting to Dask: a client for an address or a fresh LocalCluster, and shipping user code.

Dask is an optional extra (``pip install "chainrule[dask]"``): it is imported
when a function here is called, never when chainrule is imported, and its
absence is reported by :class:`MissingDaskError` with the install command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["INSTALL_HINT", "MissingDaskError", "cluster_client", "require_dask", "ship_by_value"]

INSTALL_HINT = 'pip install "chainrule[dask]"'


class MissingDaskError(ImportError):
    """Dask (``dask``, ``distributed``) is needed and not installed."""


def require_dask(what: str, module: str = "distributed") -> None:
    """Raise :class:`MissingDaskError` naming ``what`` needs Dask, if ``module`` is missing."""
    try:
        __import__(module)
    except ImportError:
        message = f"{what} needs Dask ({module}), which is not installed: {INSTALL_HINT}"
        raise MissingDaskError(message) from None


def default_workers() -> int:
    """Local worker processes: one per core, at most 8 (start-up costs about a second each)."""
    return max(1, min(os.cpu_count() or 1, 8))


@contextmanager
def cluster_client(
    address: str | None = None,
    workers: int | None = None,
    processes: bool = True,
    *,
    malloc_trim: bool = True,
    **cluster_options: Any,
) -> Iterator[Any]:
    """A ``distributed.Client``: to the scheduler at ``address``, or on a new LocalCluster.

    The LocalCluster (``workers`` processes of one thread each, its
    dashboard on a free port, not 8787: the machine may run other
    clusters) is closed on exit; a cluster given by address is left
    running. ``cluster_options`` go to ``LocalCluster`` (``memory_limit=...``).

    ``malloc_trim=False`` starts the workers without Dask's
    ``MALLOC_TRIM_THRESHOLD_=65536``, with the C library's default instead.
    Dask sets it so that data workers give freed memory back to the system
    at once; but it also makes every allocation above 128 KiB a system call
    with fresh pages, and finite differences over N inputs allocate a few
    N-sized arrays per evaluation: for the demo's 17,226 inputs the
    workers' bookkeeping took 2-3x longer. Pass False for finite
    differences, keep True for data gradients under a memory limit.
    """
    require_dask("a Dask cluster")
    from distributed import Client, LocalCluster

    if address is not None:
        client = Client(address)
        try:
            yield client
        finally:
            client.close()
        return
    with _without_malloc_trim(not malloc_trim):
        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                               processes=processes, dashboard_address=":0", **cluster_options)  # fmt: skip
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@contextmanager
def _without_malloc_trim(active: bool) -> Iterator[None]:
    """Worker processes spawned inside start without ``MALLOC_TRIM_THRESHOLD_`` (when ``active``).

    Dask's nannies set it from the configuration (None unsets it) and also
    write it into this process's environment, which children inherit:
    both are undone while the workers start, and the environment restored.
    """
    if not active:
        yield
        return
    import dask

    key = "MALLOC_TRIM_THRESHOLD_"
    saved = os.environ.pop(key, None)
    try:
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{key}": None}):
            yield
    finally:
        if saved is not None:
            os.environ[key] = saved


def ship_by_value(f: Callable[..., Any]) -> None:
    """Let workers receive ``f``'s module by value when they cannot import it by name.

    A function loaded from a file path (``chainrule check path/to/model.py:loss``)
    or defined in ``__main__`` lives in a module the workers do not have; cloudpickle
    (a Dask dependency) can send such a module's code along. Importable modules are
    left alone: workers import them.
    """
    name = getattr(f, "__module__", None)
    module = sys.modules.get(name) if name else None
    if module is None or name == "__main__" or getattr(module, "__spec__", None) is None:
        return
    spec = module.__spec__
    if spec is not None and spec.origin and name and not _importable(name, spec.origin):
        try:
            import cloudpickle
        except ImportError:
            raise MissingDaskError(
                f"{name} was loaded from {spec.origin}, which worker processes cannot import by name; "
                f"sending its code needs cloudpickle: {INSTALL_HINT}"
            ) from None
        cloudpickle.register_pickle_by_value(module)


def _importable(name: str, origin: str) -> bool:
    """Whether importing ``name`` afresh would find the file ``origin`` (a worker's view)."""
    import importlib.util

    saved = sys.modules.pop(name, None)
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    finally:
        if saved is not None:
            sys.modules[name] = saved
    return spec is not None and spec.origin is not None and os.path.samefile(spec.origin, origin)
