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
