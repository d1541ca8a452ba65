"""Parameter sweeps over any :mod:`concurrent.futures` executor (processes by default, or Dask).

>>> from fieldflow.core.sweep import sweep
>>> sweep(abs, [-1, 2, -3], executor="serial")
[1, 2, 3]

The work is split into ``chunks`` contiguous batches, one task each, so that per-task overhead
(pickling, scheduling) is paid a few times, not once per parameter value.  Results come back
in the order of ``params``.

A point that raises does not lose the others: every point runs, a failing one is recorded as a
:class:`SweepFailure` (its parameter, the exception's type, message and traceback), and then — with
``errors="raise"``, the default — a :class:`SweepError` carrying every result and failure is raised, or — with
``errors="record"`` — the list is returned with the failures in place of the missing results.
"""

from __future__ import annotations

import os
import sys
import traceback
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Sequence

from .validation import function, integer, one_of, shown

__all__ = ["sweep", "SweepFailure", "SweepError", "case_progress"]


@dataclass(frozen=True)
class SweepFailure:
    """A sweep point that raised: its parameter, the exception's type name and message, and the traceback."""

    param: Any
    error_type: str
    message: str
    traceback: str

    def __str__(self) -> str:
        return f"{self.param!r}: {self.error_type}: {self.message}"


class SweepError(RuntimeError):
    """Some points of a sweep raised; ``results`` holds every point in order (a :class:`SweepFailure` for each
    failed one), ``failures`` the failures alone."""

    def __init__(self, results: list[Any]):
        self.results = results
        self.failures = [r for r in results if isinstance(r, SweepFailure)]
        first = self.failures[0]
        super().__init__(
            f"{len(self.failures)} of {len(results)} sweep points failed (first: {first}); the other "
            f"{len(results) - len(self.failures)} results are in .results, the failures in .failures; pass "
            f"errors='record' to get them back without raising\n--- traceback of the first failure ---\n"
            f"{first.traceback}")


def _run_point(func: Callable[[Any], Any], param: Any) -> Any:
    try:
        return func(param)
    except Exception as exc:  # recorded, so that one failing point keeps the others
        return SweepFailure(param, type(exc).__name__, str(exc), traceback.format_exc())


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
    return [_run_point(func, p) for p in chunk]


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
    errors: str = "raise",
    label: str | None = None,
) -> list[Any]:
    """``[func(p) for p in params]``, evaluated in parallel, every point kept.

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
    errors : {"raise", "record"}
        What a point that raises becomes.  Either way every other point runs and is kept.  ``"raise"``: after
        all points, a :class:`SweepError` whose ``results`` hold them all (a :class:`SweepFailure` for each
        failure).  ``"record"``: the list is returned with a :class:`SweepFailure` in place of each failure.
    label : str, optional
        Name of a progress bar over the parameter values, advanced as tasks finish (shown when stderr is
        a terminal); no bar without a label.

    Returns
    -------
    list
        ``func(p)`` for each ``p``, in order (with ``errors="record"``, a :class:`SweepFailure` where it raised).

    Raises
    ------
    SweepError
        With ``errors="raise"``, if any point raised.
    """
    function(func, "func", hint="a module-level function of one parameter")
    errors = one_of(errors, "errors", ("raise", "record"))
    if max_workers is not None:
        max_workers = integer(max_workers, "max_workers", minimum=1)
    if chunks is not None:
        chunks = integer(chunks, "chunks", minimum=1)
    if isinstance(params, (str, bytes)) or not hasattr(params, "__iter__"):
        raise TypeError(f"params must be an iterable of parameter values (a list, an array, a range), got "
                        f"{shown(params)}")
    params = list(params)
    if not params:
        return []
    if executor == "serial":
        items = params if label is None else case_progress(params, label)
        results = [_run_point(func, p) for p in items]
    else:
        if isinstance(executor, str):
            raise ValueError(f"executor must be an Executor, a dask Client, 'serial' or None, got {executor!r}")
        workers = max_workers or os.cpu_count() or 1
        own = executor is None
        pool = ProcessPoolExecutor(max_workers=workers) if own else (_dask_executor(executor) or executor)
        if not isinstance(pool, Executor) and not hasattr(pool, "submit"):
            raise ValueError(f"executor must be a concurrent.futures.Executor or a dask.distributed.Client, got "
                             f"{shown(executor)}")
        n_chunks = min(len(params), chunks or 4 * workers)
        size = -(-len(params) // n_chunks)
        batches = [params[i:i + size] for i in range(0, len(params), size)]
        bar = _case_bar(label, len(params))
        try:
            futures = [pool.submit(partial(_run_chunk, func), batch) for batch in batches]
            if bar is not None:
                sizes = {future: len(batch) for future, batch in zip(futures, batches)}
                for future in as_completed(futures):
                    bar.update(sizes[future])
            results = []
            for future, batch in zip(futures, batches):
                try:
                    results += future.result()
                except Exception as exc:  # the task itself failed (a worker died, func not picklable)
                    results += [SweepFailure(p, type(exc).__name__, str(exc), traceback.format_exc()) for p in batch]
        finally:
            if bar is not None:
                bar.close()
            if own:
                pool.shutdown()
    if errors == "raise" and any(isinstance(r, SweepFailure) for r in results):
        raise SweepError(results)
    return results
