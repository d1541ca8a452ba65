"""Parameter sweeps over any :mod:`concurrent.futures` executor (processes by default, or Dask).

>>> from fieldflow.core.sweep import sweep
>>> sweep(abs, [-1, 2, -3], executor="serial")
[1, 2, 3]

The work is split into ``chunks`` contiguous batches, one task each, so that per-task overhead
(pickling, scheduling) is paid a few times, not once per parameter value.  Results come back
in the order of ``params``.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Sequence

__all__ = ["sweep", "case_progress"]


def _case_bar(label: str | None, total: int, enabled: bool | None = None) -> Any:
    """A tqdm bar over ``total`` cases named ``label`` (``None`` without a label, or when disabled; default:
    on when stderr is a terminal, as :func:`fieldflow.evolve`'s bar)."""
    if label is None or (enabled is False) or (enabled is None and not sys.stderr.isatty()):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, unit="case")


def case_progress(items: Iterable[Any], label: str, enabled: bool | None = None) -> Iterator[Any]:
    """Iterate over ``items`` with a progress bar named ``label`` over the cases (a loop that does not go
    through :func:`fieldflow.evolve`, which has its own bar over simulated time).

    The bar is shown when stderr is a terminal (``enabled=None``), or as ``enabled`` says.
    """
    items = list(items)
    bar = _case_bar(label, len(items), enabled)
    try:
        for item in items:
            yield item
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()


def _run_chunk(func: Callable[[Any], Any], chunk: Sequence[Any]) -> list[Any]:
    return [func(p) for p in chunk]


def _dask_executor(client: Any) -> Executor | None:
    """A concurrent.futures view of a ``dask.distributed.Client`` (``None`` if ``client`` is not one)."""
    if type(client).__module__.split(".")[0] != "distributed" or not hasattr(client, "get_executor"):
        return None
    return client.get_executor()


def sweep(
    func: Callable[[Any], Any],
    params: Iterable[Any],
    executor: Executor | Any | str | None = None,
    max_workers: int | None = None,
    chunks: int | None = None,
    label: str | None = None,
) -> list[Any]:
    """``[func(p) for p in params]``, evaluated in parallel.

    Parameters
    ----------
    func : callable
        A picklable (module-level) function of one parameter.
    params : iterable
        Parameter values (any picklable objects).
    executor : Executor, dask.distributed.Client, "serial" or None
        ``None``: a :class:`~concurrent.futures.ProcessPoolExecutor` with ``max_workers``
        processes, created and shut down here.  Any ``concurrent.futures.Executor`` (thread or
        process pool, ``mpi4py.futures``, ...) is used as given and left running.  A Dask
        ``Client`` is used through ``client.get_executor()`` (Dask itself is never imported here).
        ``"serial"`` runs in this process (for debugging and profiling).
    max_workers : int, optional
        Processes of the default pool (default ``os.cpu_count()``).
    chunks : int, optional
        Number of tasks (default: 4 per worker, at most one per parameter).
    label : str, optional
        Name of a progress bar over the parameter values, advanced as tasks finish (shown when stderr is
        a terminal); no bar without a label.

    Returns
    -------
    list
        ``func(p)`` for each ``p``, in order.
    """
    params = list(params)
    if not params:
        return []
    if executor == "serial":
        return [func(p) for p in (params if label is None else case_progress(params, label))]
    if isinstance(executor, str):
        raise ValueError(f"executor must be an Executor, a dask Client, 'serial' or None, got {executor!r}")
    if max_workers is not None and max_workers < 1:
        raise ValueError(f"max_workers must be at least 1, got {max_workers}")
    workers = max_workers or os.cpu_count() or 1
    own = executor is None
    pool = ProcessPoolExecutor(max_workers=workers) if own else (_dask_executor(executor) or executor)
    if not isinstance(pool, Executor) and not hasattr(pool, "submit"):
        raise ValueError(
            f"executor must be a concurrent.futures.Executor or a dask.distributed.Client, got {type(executor).__name__}"
        )
    n_chunks = min(len(params), chunks or 4 * workers)
    if n_chunks < 1:
        raise ValueError(f"chunks must be at least 1, got {chunks}")
    size = -(-len(params) // n_chunks)
    batches = [params[i:i + size] for i in range(0, len(params), size)]
    bar = _case_bar(label, len(params))
    try:
        futures = [pool.submit(partial(_run_chunk, func), batch) for batch in batches]
        if bar is not None:
            sizes = {future: len(batch) for future, batch in zip(futures, batches)}
            for future in as_completed(futures):
                bar.update(sizes[future])
        return [value for future in futures for value in future.result()]
    finally:
        if bar is not None:
            bar.close()
        if own:
            pool.shutdown()
