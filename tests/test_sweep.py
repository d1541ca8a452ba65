"""Parameter sweeps over concurrent.futures executors (and Dask when installed)."""

import math
from concurrent.futures import ThreadPoolExecutor

import pytest

from fieldflow.core.sweep import sweep


def test_serial_threads_and_processes_agree_and_keep_order():
    params = [0.1 * i for i in range(23)]
    expected = [math.sin(p) for p in params]
    assert sweep(math.sin, params, executor="serial") == expected
    with ThreadPoolExecutor(max_workers=3) as pool:
        assert sweep(math.sin, params, executor=pool, chunks=5) == expected
    assert sweep(math.sin, params, max_workers=2) == expected
    assert sweep(math.sin, []) == []


def test_dask_client_is_accepted():
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        assert sweep(math.sqrt, [1.0, 4.0, 9.0], executor=client) == [1.0, 2.0, 3.0]


def test_bad_executor():
    with pytest.raises(ValueError, match="executor must be"):
        sweep(math.sin, [1.0], executor="threads")
    with pytest.raises(ValueError, match="executor must be"):
        sweep(math.sin, [1.0], executor=object())
    with pytest.raises(ValueError, match="max_workers"):
        sweep(math.sin, [1.0], max_workers=0)


def _inverse(x):
    """1/x: raises ZeroDivisionError at 0 (a module-level function, so process pools can pickle it)."""
    return 1.0 / x


@pytest.mark.parametrize("executor", ["serial", "threads", "processes"])
def test_a_failing_point_keeps_every_other_result(executor):
    """The two points 0 fail among five; the three others come back in order, the failures with their parameter."""
    from fieldflow.core.sweep import SweepError

    params = [2.0, 0, 4.0, 0, 0.5]

    def run(**kw):
        if executor == "threads":
            with ThreadPoolExecutor(max_workers=2) as pool:
                return sweep(_inverse, params, executor=pool, chunks=2, **kw)
        return sweep(_inverse, params, executor=None if executor == "processes" else "serial", max_workers=2,
                     chunks=2, **kw)

    recorded = run(errors="record")
    assert [recorded[i] for i in (0, 2, 4)] == [0.5, 0.25, 2.0]
    failures = [recorded[1], recorded[3]]
    assert all(f.param == 0 and f.error_type == "ZeroDivisionError" and "division by zero" in f.message
               and "_inverse" in f.traceback for f in failures)
    with pytest.raises(SweepError, match="2 of 5 sweep points failed") as info:
        run()
    assert info.value.results[0] == 0.5 and info.value.results[4] == 2.0 and len(info.value.failures) == 2


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(errors="ignore"), ValueError, "errors must be one of 'raise', 'record'"),
    (dict(chunks=0), ValueError, "chunks must be a positive integer"),
    (dict(max_workers=1.5), ValueError, "max_workers must be a positive integer"),
])
def test_bad_sweep_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        sweep(math.sin, [1.0], **kwargs)
    with pytest.raises(TypeError, match="func must be callable"):
        sweep(3.0, [1.0])
