"""Running one task per partition on a cluster: bounded submission, retries, progress, clean cancel.

Partitions are submitted in order, a few per worker thread ahead of the running ones (the
scheduler never holds the whole input), and collected with :class:`distributed.as_completed`
as they finish, whatever their order; a tqdm bar over partitions follows them (hidden when
stderr is not a terminal). A task whose worker dies is run again by Dask; one that raises is
retried ``retries`` times, then its error reaches the caller and the other tasks are cancelled.

Accelerators: tasks take Dask *resources*. Start GPU workers with ``--resources "GPU=1"`` and
pass ``resources={"GPU": 1}`` (or wrap the call in ``dask.annotate(resources={"GPU": 1})``) so
that encoding runs only there; without such workers the tasks would wait forever, so nothing
here asks for a GPU by default.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from ..io.progress import progress_bar
from .cluster import total_threads

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = ["run_partitions", "RETRIES", "AHEAD_PER_THREAD"]

#: Times a task that raised is tried again (a lost worker is Dask's "allowed-failures" business).
RETRIES = 2
#: Partitions submitted ahead per worker thread.
AHEAD_PER_THREAD = 2


def run_partitions(
    client: Client,
    func: Callable,
    tasks: Iterable[tuple[int, tuple]],
    *,
    total: int,
    name: str,
    desc: str,
    show_progress: bool | None = None,
    resources: dict | None = None,
    retries: int = RETRIES,
    on_partition: Callable[[int, int], object] | None = None,
) -> Iterator[tuple[int, object]]:
    """Run ``func(*args)`` on the cluster for every ``(index, args)`` of ``tasks``; yield ``(index, result)``.

    Parameters
    ----------
    client : distributed.Client
    func : callable
        A pure, importable function (the workers import it by name).
    tasks : iterable of (int, tuple)
        Partition index and arguments, produced lazily so inputs are cut as they are sent.
    total : int
        Number of tasks (for the progress bar).
    name : str
        Prefix of the task keys, as the dashboard shows them (``encode-partition``).
    desc : str
        Label of the progress bar.
    resources : dict, optional
        Worker resources every task needs, e.g. ``{"GPU": 1}``.
    on_partition : callable, optional
        Called as ``on_partition(done, total)`` after each finished partition.

    Yields
    ------
    (int, object)
        In completion order.
    """
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    ahead = AHEAD_PER_THREAD * total_threads(client) + 1
    pending = iter(tasks)
    running: dict[str, object] = {}
    index_of: dict[str, int] = {}
    done = 0
    finished = as_completed(with_results=True)

    def submit_next() -> None:
        for i, args in pending:
            key = f"{name}-{token}-{i}"
            future = client.submit(func, *args, key=key, retries=retries, resources=resources, pure=False)
            running[key] = future
            index_of[key] = i
            finished.add(future)
            return

    try:
        for _ in range(ahead):
            submit_next()
        with progress_bar(total, desc, show_progress, unit="part") as bar:
            for future, result in finished:
                key = future.key
                running.pop(key, None)
                submit_next()
                done += 1
                bar.update(1)
                if on_partition is not None:
                    on_partition(done, total)
                yield index_of.pop(key), result
    finally:
        # An error, a Ctrl-C or a caller that stops early: nothing keeps running for nobody.
        if running:
            client.cancel(list(running.values()))
