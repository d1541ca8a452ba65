"""The strict CuPy stand-in enforces CuPy's rules and counts transfers; backend checks; fieldflow without pyFFTW."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import cupy_strict
import fieldflow as ff
from fieldflow.core import backend


def test_implicit_conversion_and_host_arrays_are_refused(strict_cupy):
    import cupy

    x = cupy.arange(100.0)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(x)
    for host in (np.ones(100), np.array(2.0)):  # 0-d host arrays too, as in CuPy
        with pytest.raises(TypeError, match="Unsupported type"):
            x + host
        with pytest.raises(TypeError, match="Unsupported type"):
            host * x
        with pytest.raises(TypeError, match="Unsupported type"):
            cupy.maximum(x, host)
    assert isinstance(x * np.float64(2.0) + 1, cupy.ndarray)  # NumPy and Python scalars are fine
    assert isinstance(np.exp(x), cupy.ndarray) and isinstance(np.sum(x), cupy.ndarray)  # NumPy dispatches to CuPy
    import scipy.linalg

    with pytest.raises(TypeError, match="Implicit conversion"):
        scipy.linalg.norm(x)


def test_only_the_recorded_release_exists(strict_cupy):
    import cupy
    import cupyx.scipy.fft
    import cupyx.scipy.sparse.linalg as spla

    assert cupy_strict.version().startswith("14.") and cupy.__version__ == cupy_strict.version()
    with pytest.raises(AttributeError, match="has no such name"):
        cupy.errstate  # noqa: B018 - NumPy has it, CuPy does not
    assert callable(cupyx.scipy.fft.dctn)
    A = cupyx.scipy.sparse.identity(4, format="csr")
    with pytest.raises(TypeError, match="unexpected keyword argument 'tol'"):
        spla.gmres(A, cupy.ones(4), tol=1e-8)  # CuPy 14's gmres takes rtol
    with pytest.raises(NotImplementedError, match="does not emulate"):
        cupy.ElementwiseKernel("float64 x", "float64 y", "y = x", "copy")
    with pytest.raises(AttributeError, match="has no attribute"):
        cupy.arange(3).newbyteorder  # noqa: B018


def test_sparse_refuses_scipy_matrices_and_host_vectors(strict_cupy):
    import cupy
    import cupyx.scipy.sparse as csp
    import scipy.sparse as sp

    with pytest.raises(TypeError, match="refuses a SciPy matrix"):
        csp.csr_matrix(sp.identity(3, format="csr"))
    A = csp.coo_matrix((cupy.ones(3), (cupy.arange(3), cupy.arange(3))), shape=(3, 3)).tocsr()
    assert isinstance(A @ cupy.ones(3), cupy.ndarray) and isinstance(2.0 * A - A, csp.csr_matrix)
    with pytest.raises(TypeError, match="Unsupported type"):
        A @ np.ones(3)
    with pytest.raises(TypeError):
        csp.coo_matrix((np.ones(3), (np.arange(3), np.arange(3))), shape=(3, 3))


def test_transfers_are_counted_by_source_line(strict_cupy):
    import cupy

    ledger = strict_cupy
    x = cupy.arange(1000.0)
    ledger.reset()
    float(cupy.sum(x))
    bool(x[3] > 1)
    x.get()
    cupy.asarray(np.ones(500))
    cupy.asarray(np.ones(3))
    x[x > 10]  # a boolean mask reads its count
    assert ledger.snapshot() == {"sync": 3, "d2h": 1, "upload": 1, "h2d": 1}
    assert all(where.startswith("test_cupy_standin.py:") for where in ledger.where["sync"])
    # inside fieldflow the line is fieldflow's own
    ledger.reset()
    ff.Grid.box(200, 1.0, backend="cupy").integrate(x[:200])
    assert list(ledger.where["sync"]) == ["fieldflow/core/grids.py:" + ledger.where["sync"].most_common(1)[0][0].split(":")[1]]


def test_install_restores_what_was_there():
    before = {name: sys.modules.get(name) for name in ("cupy", "cupyx", "cupyx.scipy.sparse")}
    with cupy_strict.installed():
        import cupy

        assert type(cupy).__name__ == "StrictModule"
    assert {name: sys.modules.get(name) for name in before} == before


def test_set_backend_checks_the_version_and_the_device(strict_cupy, monkeypatch):
    import cupy

    backend.set_backend("cupy")
    try:
        assert ff.Grid.box(8, 1.0).xp is cupy
    finally:
        backend.set_backend("numpy")
    old = types.SimpleNamespace(__version__="13.6.0")
    with pytest.raises(ImportError, match=r"needs CuPy >= 14\.0, found 13\.6\.0: pip install 'fieldflow\[gpu\]'"):
        backend.check_cupy(old)
    no_device = types.SimpleNamespace(__version__="14.2.0", cuda=types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=lambda: 0)))
    with pytest.raises(RuntimeError, match="finds no CUDA device"):
        backend.check_cupy(no_device)

    def no_driver():
        raise OSError("cudaErrorInsufficientDriver")

    broken = types.SimpleNamespace(__version__="14.2.0", cuda=types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=no_driver)))
    with pytest.raises(RuntimeError, match="cudaErrorInsufficientDriver"):
        backend.check_cupy(broken)


def test_fieldflow_runs_without_pyfftw(monkeypatch):
    """The GPU machine has no pyFFTW: the host FFT falls back to scipy.fft and the solvers run unchanged."""
    monkeypatch.setitem(sys.modules, "pyfftw", None)  # import pyfftw -> ImportError
    monkeypatch.setattr(backend, "_providers", {})
    assert "pyfftw" not in backend.available_fft_providers("numpy")
    assert backend.get_fft(backend="numpy").name == "scipy"
    g = ff.Grid.box(32, 4.0, 1)
    pde = ff.SVGDFlow(g, ff.potentials.Quadratic(1.0), ff.svgd.Bessel(0.7), alpha=0.5)
    assert pde.convolution.fft.name == "scipy"
    traj = ff.evolve(pde, ff.densities.gaussian(g, mean=1.0, cov=0.5), 0.05, progress=False)
    assert traj.info["status"] == "done"
