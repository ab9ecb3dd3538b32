"""Getting a Dask client: a local cluster of worker processes, or an existing cluster by address.

>>> from semantic_match.distributed import connect
>>> client = connect(workers=4)                        # doctest: +SKIP
dask: 4 workers x 1 thread, dashboard http://127.0.0.1:8787/status
>>> client = connect(scheduler="tcp://10.0.0.5:8786")  # doctest: +SKIP

Workers started by Dask's nanny run with ``OMP_NUM_THREADS=1``, so each worker thread encodes
with one core: give a worker as many threads as it has cores (``threads_per_worker``) or run one
single-threaded worker per core.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = ["connect", "describe", "total_threads"]

logger = logging.getLogger(__name__)


def connect(
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    threads_per_worker: int | None = None,
    dashboard_address: str | None = ":8787",
    announce: bool = True,
    **cluster_options,
) -> Client:
    """Start a local cluster of ``workers`` processes, or connect to the scheduler at ``scheduler``.

    Parameters
    ----------
    workers : int, optional
        Worker processes of a new :class:`distributed.LocalCluster` on this machine; closing
        the client stops them.
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``), e.g. one started by ``dask-ssh``,
        dask-kubernetes or dask-jobqueue. Exactly one of ``workers`` and ``scheduler`` is given.
    threads_per_worker : int, optional
        Threads of each local worker; default the machine's cores divided by ``workers``.
    dashboard_address : str, optional
        Where the local cluster serves its dashboard (another free port is taken when this one is
        busy); None turns it off.
    announce : bool
        Print the cluster's size and dashboard link to stderr (it is logged in any case).
    **cluster_options
        Passed to :class:`distributed.LocalCluster` (``memory_limit``, ``resources``, …).

    Returns
    -------
    distributed.Client
        Use it as a context manager, or call ``close()``.

    Raises
    ------
    InputError
        Both or neither of ``workers`` and ``scheduler``, or a worker count below 1.
    """
    if (workers is None) == (scheduler is None):
        raise InputError("give either workers=N (a local cluster) or scheduler='tcp://host:port', not both")
    from distributed import Client

    if scheduler is not None:
        client = Client(scheduler)
    else:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InputError(f"workers must be a whole number >= 1, got {workers!r}")
        if threads_per_worker is not None and (not isinstance(threads_per_worker, int) or threads_per_worker < 1):
            raise InputError(f"threads_per_worker must be a whole number >= 1, got {threads_per_worker!r}")
        # Processes, not threads: the encoders and the lexical channels hold the GIL part of the time.
        client = Client(
            n_workers=workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            dashboard_address=dashboard_address,
            **cluster_options,
        )
    line = describe(client)
    logger.info(line)
    if announce:
        print(line, file=sys.stderr, flush=True)
    return client


def total_threads(client: Client) -> int:
    """Worker threads of the cluster now (at least 1, so an empty adaptive cluster still gets work)."""
    try:
        return max(sum(client.nthreads().values()), 1)
    except Exception:  # noqa: BLE001 - a client that cannot answer still gets work cut for one thread
        return 1


def describe(client: Client) -> str:
    """One line: workers, threads and the dashboard link of a client's cluster."""
    nthreads = client.nthreads()
    threads = sorted(set(nthreads.values())) or [0]
    per = (
        f"{threads[0]} thread{'s' if threads[0] != 1 else ''}"
        if len(threads) == 1
        else f"{threads[0]}-{threads[-1]} threads"
    )
    link = client.dashboard_link if client.scheduler_info().get("services", {}).get("dashboard") else None
    if link and importlib.util.find_spec("bokeh") is None:
        # The scheduler serves the address, but its pages need bokeh (not a dependency of ours).
        link += " (pip install 'bokeh>=3.1' to see it)"
    return (
        f"dask: {len(nthreads)} worker{'s' if len(nthreads) != 1 else ''} x {per} at {client.scheduler.address}, "
        + (f"dashboard {link}" if link else "no dashboard")
    )
