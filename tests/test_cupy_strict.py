"""Every solver family on the strict CuPy stand-in (and on a real GPU where one is present): NumPy's results to
1e-12, and no array copies in a steady step.

For each grid equation with each of its steppers, each particle method, and the spectral and Polchinski
entry points: the same problem is built on NumPy and on ``backend="cupy"`` with the stand-in of
:mod:`cupy_strict` installed (NumPy underneath, CuPy's rules enforced: no implicit host conversion, no
host arrays in device arithmetic, no SciPy matrices in ``cupyx``, only CuPy 14's names).

* **Agreement.**  Two steps on each backend; the results agree to ``1e-12`` relative to ``max|u|``.  The
  stand-in computes with the same NumPy operations, so the only differences are the FFT providers'
  round-off (pyFFTW/SciPy on the host path, ``numpy.fft`` under ``cupy.fft``): ~1e-16 per transform,
  amplified at most by the few hundred operations of two steps.  Where the default algorithm differs
  by backend (the Newton preconditioner: host LU on NumPy, device Jacobi on CuPy) both runs are given
  the device one, and the defaults are compared separately at the solver tolerance.
* **Steady step.**  The host↔device traffic of one more step — a run of three steps minus a run of two,
  built fresh each time, so set-up cancels — must contain no array copy (``d2h``, ``h2d``: transfers of
  more than :data:`cupy_strict.SMALL` numbers).  Its scalar syncs are counted against the budget stated
  per case and listed in the test summary (``host↔device traffic per steady step``).

With a GPU the same cases also run on real CuPy (the ``cupy`` ids), comparing results only: cuFFT and the
device's reduction order change the round-off, so the bound is 1e-10, and 1e-7 where a Krylov solver's
step count may differ by one between the backends (GMRES residual 1e-8); the stochastic particle methods
are compared on the stand-in only (CuPy's random streams are not NumPy's).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest

import fieldflow as ff
from conftest import CUPY, SYNC_REPORT
from fieldflow.core.backend import to_numpy

RTOL = 1e-12
Q1 = ff.potentials.Quadratic(1.0)
Q2 = ff.potentials.Quadratic(1.0, dim=2)
Q3 = ff.potentials.Quadratic(1.0, dim=3)


@dataclass
class GridCase:
    """An equation, its initial state and the evolve options of one stepper; ``syncs``: the steady-step budget."""

    make: Callable[[str], tuple[Any, Any]]
    options: dict
    syncs: int
    krylov: bool = False  #: a Krylov solver runs (on a GPU the results then agree to its tolerance only)


def _fp(n, dim, **kw):
    def make(backend):
        g = ff.Grid.box(n, 5.0, dim, backend=backend)
        pde = ff.FokkerPlanck(g, {1: Q1, 2: Q2, 3: Q3}[dim], **kw)
        return pde, ff.densities.gaussian(g, mean=[1.0, -0.5, 0.3][:dim] if dim > 1 else 1.0, cov=0.5)
    return make


def _fp_time(backend):
    from fieldflow.fokker_planck.time_dependent import TimeDependentFokkerPlanck

    g = ff.Grid.box(80, 5.0, 1, backend=backend)
    pde = TimeDependentFokkerPlanck(g, lambda t: ff.potentials.Quadratic(1.0 + 0.5 * math.sin(t)), lambda t: 1.0 + 0.2 * t)
    return pde, ff.densities.gaussian(g, mean=1.0, cov=0.5)


def _svgd(n, dim, local=False, q=2.0):
    def make(backend):
        g = ff.Grid.box(n, 4.0, dim, backend=backend)
        V = Q1 if dim == 1 else Q2
        kw = dict(alpha=0.5) if q == 2.0 else dict(alpha=0.25, q=q, allow_violation=True)
        pde = ff.svgd.LocalSVGDFlow(g, V, **kw) if local else ff.SVGDFlow(g, V, ff.svgd.Bessel(0.7), **kw)
        return pde, ff.densities.gaussian(g, mean=1.0 if dim == 1 else [1.0, 0.5], cov=0.5)
    return make


def _mckean_vlasov(linearized=False):
    def make(backend):
        from fieldflow.mckean_vlasov import McKeanVlasov
        from fieldflow.mckean_vlasov.interactions import kuramoto_daido

        g = ff.Grid.torus(128, backend=backend)
        theta = 2 * np.pi * np.arange(128) / 128
        q0 = np.exp(np.cos(theta))
        if linearized:
            from fieldflow.mckean_vlasov.linearized_pde import LinearizedMcKeanVlasov

            q = g.asarray(np.full(128, 1 / (2 * np.pi)))
            return LinearizedMcKeanVlasov(g, kuramoto_daido(0.8), 0.7, q), 0.1 * np.cos(theta)
        return McKeanVlasov(g, kuramoto_daido(0.8), 1.2), q0 / (q0.sum() * 2 * np.pi / 128)
    return make


def _landau(backend):
    g = ff.Grid.box(16, 7.0, 2, backend=backend)
    v = to_numpy(g.points)
    f0 = np.exp(-np.sum(v**2, -1) / 2) * (1 + 0.3 * v[..., 0] ** 2)
    return ff.landau.Landau(g, gamma=0.0), f0


JACOBI = {"preconditioner": "jacobi"}
GRID_CASES = {
    "fokker_planck-1d-trbdf2": GridCase(_fp(96, 1), dict(method="trbdf2", dt=2**-7), 6),
    "fokker_planck-2d-trbdf2": GridCase(_fp(24, 2), dict(method="trbdf2", dt=2**-7, linear_solver="direct"), 6),
    "fokker_planck-2d-euler": GridCase(_fp(24, 2), dict(method="euler", dt=2**-7, linear_solver="direct"), 6),
    "fokker_planck-2d-trbdf2-multigrid": GridCase(_fp(24, 2), dict(method="trbdf2", dt=2**-7, linear_solver="multigrid"),
                                                  40, krylov=True),
    "fokker_planck-3d-trbdf2-multigrid": GridCase(_fp(12, 3), dict(method="trbdf2", dt=2**-7, linear_solver="multigrid"),
                                                  40, krylov=True),
    "fokker_planck-2d-trbdf2-gmres-multigrid": GridCase(_fp(24, 2), dict(method="trbdf2", dt=2**-7, linear_solver="iterative",
                                                                       preconditioner="multigrid"), 60, krylov=True),
    "fokker_planck-2d-euler-multigrid": GridCase(_fp(24, 2), dict(method="euler", dt=2**-7, linear_solver="multigrid"),
                                                 30, krylov=True),
    "fokker_planck-2d-ssprk3": GridCase(_fp(24, 2), dict(method="ssprk3", dt=2**-9), 6),
    "fokker_planck-3d-trbdf2-iterative": GridCase(_fp(12, 3), dict(method="trbdf2", dt=2**-7, linear_solver="iterative",
                                                                   preconditioner="dct"), 30, krylov=True),
    "fokker_planck-1d-krylov-exp": GridCase(_fp(96, 1), dict(method="krylov-exp", dt=2**-5), 10, krylov=True),
    "fokker_planck-2d-krylov-exp": GridCase(_fp(24, 2), dict(method="krylov-exp", dt=2**-5), 10, krylov=True),
    "fokker_planck-3d-krylov-exp": GridCase(_fp(12, 3), dict(method="krylov-exp", dt=2**-5), 10, krylov=True),
    "fokker_planck-2d-krylov-exp-lanczos": GridCase(_fp(24, 2), dict(method="krylov-exp", dt=2**-5, dense_limit=0), 10,
                                                   krylov=True),
    "fokker_planck-3d-krylov-exp-lanczos": GridCase(_fp(12, 3), dict(method="krylov-exp", dt=2**-5, dense_limit=0), 10,
                                                   krylov=True),
    "fokker_planck-2d-krylov-exp-chebyshev": GridCase(_fp(24, 2), dict(method="krylov-exp", dt=2**-5, dense_limit=0,
                                                                    algorithm="chebyshev"), 10, krylov=True),
    "fokker_planck-time-dependent-trbdf2": GridCase(_fp_time, dict(method="trbdf2", dt=2**-7, linear_solver="iterative",
                                                                   preconditioner="dct"), 40, krylov=True),
    "fokker_planck-1d-log-trbdf2": GridCase(_fp(96, 1), dict(method="log-trbdf2", dt=2**-7), 90, krylov=True),
    "fokker_planck-time-dependent-euler": GridCase(_fp_time, dict(method="euler", dt=2**-7), 30, krylov=True),
    "fokker_planck-time-dependent-ssprk3": GridCase(_fp_time, dict(method="ssprk3", dt=2**-12), 15),
    "svgd-1d-log-trbdf2": GridCase(_svgd(96, 1), dict(method="log-trbdf2", dt=2**-7, **JACOBI), 60, krylov=True),
    "svgd-2d-log-trbdf2": GridCase(_svgd(12, 2), dict(method="log-trbdf2", dt=2**-7, **JACOBI), 60, krylov=True),
    "svgd-1d-trbdf2": GridCase(_svgd(96, 1), dict(method="trbdf2", dt=2**-7, **JACOBI), 50, krylov=True),
    # adaptive: the KL-monotone step rejection (two KL reads per step) and V0 = α|x|^1.5
    "svgd-1d-log-trbdf2-adaptive-q": GridCase(_svgd(96, 1, q=1.5), dict(method="log-trbdf2", dt=2**-7, adaptive=True,
                                                                       **JACOBI), 100, krylov=True),
    # the density-weighted Newton of LogTRBDF2 (log-density form of the flow), used where the residual one fails
    "svgd-1d-log-trbdf2-density-newton": GridCase(_svgd(96, 1), dict(method="log-trbdf2", dt=2**-7, newton="density",
                                                                    **JACOBI), 60, krylov=True),
    "svgd-1d-euler-adaptive": GridCase(_svgd(96, 1), dict(method="euler", dt=2**-7, adaptive=True, **JACOBI), 40,
                                       krylov=True),
    "svgd-1d-euler": GridCase(_svgd(96, 1), dict(method="euler", dt=2**-7, **JACOBI), 30, krylov=True),
    "svgd-1d-ssprk3": GridCase(_svgd(96, 1), dict(method="ssprk3", dt=2**-17), 6),
    "local_svgd-1d-log-trbdf2": GridCase(_svgd(96, 1, local=True), dict(method="log-trbdf2", dt=2**-7, **JACOBI), 100, krylov=True),
    "local_svgd-2d-trbdf2": GridCase(_svgd(12, 2, local=True), dict(method="trbdf2", dt=2**-7), 20),
    "local_svgd-1d-euler": GridCase(_svgd(96, 1, local=True), dict(method="euler", dt=2**-7), 12),
    "local_svgd-1d-ssprk3": GridCase(_svgd(96, 1, local=True), dict(method="ssprk3", dt=2**-13), 6),
    "mckean_vlasov-etdrk4": GridCase(_mckean_vlasov(), dict(method="etdrk4", dt=2**-5), 8),
    "mckean_vlasov-ssprk3": GridCase(_mckean_vlasov(), dict(method="ssprk3", dt=2**-11), 10),
    "mckean_vlasov-trbdf2": GridCase(_mckean_vlasov(), dict(method="trbdf2", dt=2**-5), 150, krylov=True),
    "mckean_vlasov-euler": GridCase(_mckean_vlasov(), dict(method="euler", dt=2**-5), 140, krylov=True),
    "mckean_vlasov-log-trbdf2": GridCase(_mckean_vlasov(), dict(method="log-trbdf2", dt=2**-5), 180, krylov=True),
    "linearized_mckean_vlasov-ssprk3": GridCase(_mckean_vlasov(linearized=True), dict(method="ssprk3", dt=2**-11), 8),
    "linearized_mckean_vlasov-etdrk4": GridCase(_mckean_vlasov(linearized=True), dict(method="etdrk4", dt=2**-5), 6),
    "landau-2d-ssprk3": GridCase(_landau, dict(method="ssprk3", dt=2**-12), 8),
    "landau-2d-trbdf2": GridCase(_landau, dict(method="trbdf2", dt=2**-10), 30, krylov=True),
    "landau-2d-euler": GridCase(_landau, dict(method="euler", dt=2**-10), 20, krylov=True),
    "landau-2d-log-trbdf2": GridCase(_landau, dict(method="log-trbdf2", dt=2**-12), 360, krylov=True),
    "landau-2d-positive-trbdf2": GridCase(_landau, dict(method="positive-trbdf2", dt=2**-8, **JACOBI), 70, krylov=True),
}


def _run(case: GridCase, backend: str, steps: int) -> Any:
    pde, rho0 = case.make(backend)
    options = dict(case.options)
    dt = options.pop("dt")
    adaptive = options.pop("adaptive", False)  # adaptive cases: dt is the first step, t_end = steps·dt
    return ff.evolve(pde, rho0, steps * dt, dt=dt, adaptive=adaptive, progress=False, **options)


def _traffic(ledger, run: Callable[[], Any]) -> tuple[dict[str, int], dict[str, Counter]]:
    ledger.reset()
    run()
    return ledger.snapshot(), {kind: Counter(where) for kind, where in ledger.where.items()}


def _steady(ledger, run_steps: Callable[[int], Any]) -> tuple[dict[str, int], dict[str, Counter]]:
    """Traffic of the third step: three steps minus two, each run from scratch (set-up cancels)."""
    two, where2 = _traffic(ledger, lambda: run_steps(2))
    three, where3 = _traffic(ledger, lambda: run_steps(3))
    return {k: three[k] - two[k] for k in three}, {k: where3[k] - where2[k] for k in where3}


def _check_steady(name: str, ledger, run_steps: Callable[[int], Any], budget: int) -> None:
    counts, where = _steady(ledger, run_steps)
    spots = ", ".join(f"{w} ×{n}" for w, n in where["sync"].most_common(4))
    SYNC_REPORT.append((name, f"{counts['sync']} syncs (budget {budget}), {counts['upload']} small uploads, "
                              f"{counts['d2h'] + counts['h2d']} array copies; busiest: {spots}"))
    assert counts["d2h"] == 0 and counts["h2d"] == 0, f"array copies in a steady step: {where['d2h'] + where['h2d']}"
    assert counts["sync"] <= budget, f"{counts['sync']} syncs > budget {budget}: {where['sync'].most_common(8)}"


def _close(got: Any, ref: Any, rtol: float = RTOL) -> None:
    got, ref = np.asarray(got), np.asarray(ref)
    assert got.shape == ref.shape
    scale = max(float(np.max(np.abs(ref))), 1e-300)
    assert float(np.max(np.abs(got - ref))) <= rtol * scale, float(np.max(np.abs(got - ref))) / scale


@pytest.fixture(params=["cupy-strict", pytest.param("cupy", marks=pytest.mark.skipif(not CUPY, reason="no GPU here"))])
def device(request):
    """The stand-in's ledger (``cupy-strict``), or ``None`` on a real GPU (``cupy``)."""
    return request.getfixturevalue("strict_cupy") if request.param == "cupy-strict" else None


@pytest.mark.parametrize("name", list(GRID_CASES))
def test_grid_solver_runs_on_cupy(name, device):
    case = GRID_CASES[name]
    ref = _run(case, "numpy", 2)
    got = _run(case, "cupy", 2)
    assert got.info["status"] == "done" and isinstance(got.final, np.ndarray)
    rtol = RTOL if device is not None else (1e-7 if case.krylov else 1e-10)
    _close(got.final, ref.final, rtol)
    for key in ref.diagnostics:
        np.testing.assert_allclose(got[key], ref[key], rtol=max(1e-10, rtol), atol=1e-12, err_msg=key)
    if device is not None:
        _check_steady(name, device, lambda steps: _run(case, "cupy", steps), case.syncs)


def test_default_preconditioners_agree_at_the_solver_tolerance(strict_cupy):
    """The defaults differ by backend (host LU on NumPy, device Jacobi on CuPy); both solve the same stages.

    Newton stops at ``‖F(u)‖ ≤ 1e-10 ‖b‖`` with GMRES residuals ``≤ 1e-8``: two steps then agree to ~1e-9
    relative; 1e-7 leaves room for the conditioning of ``I − cJ`` (``‖δu‖ ≤ ‖(I − cJ)^{-1}‖ ‖F‖``).
    """
    for name in ("svgd-1d-log-trbdf2", "svgd-2d-log-trbdf2", "local_svgd-1d-log-trbdf2"):
        case = GRID_CASES[name]
        options = {k: v for k, v in case.options.items() if k != "preconditioner"}
        default = GridCase(case.make, options, case.syncs)
        _close(_run(default, "cupy", 2).final, _run(default, "numpy", 2).final, rtol=1e-7)


# ------------------------------------------------------------------------------------------- particles
def _particle_cases():
    from fieldflow.fokker_planck import langevin
    from fieldflow.mckean_vlasov import particles as mv_particles
    from fieldflow.mckean_vlasov.interactions import kuramoto_daido
    from fieldflow.svgd import particles as svgd_particles

    rng = np.random.default_rng(7)
    x2 = rng.standard_normal((256, 2))
    theta = rng.uniform(0, 2 * np.pi, 512)
    dt = 2**-6

    def xp_of(backend):
        return ff.backend.get_namespace(backend)

    def blob(backend, steps):
        grid = ff.Grid.box(16, 8.0, 2, backend=backend)
        v = to_numpy(grid.points)
        f0 = np.exp(-np.sum(v**2, -1) / 2) * (1 + 0.3 * v[..., 0] ** 2)
        return ff.landau.BlobLandau(grid, gamma=-3.0).run(f0, steps * dt, dt).states[-1]

    def score(backend, steps):
        xp = xp_of(backend)
        v0 = xp.asarray(x2)
        log_f0 = xp.asarray(-0.5 * np.sum(x2**2, -1) - np.log(2 * np.pi))
        model = ff.landau.ScoreLandau(2, gamma=0.0, n_centres=(8, 16), ridge=(1e-3, 1e-1), folds=3)  # CV, kept small
        return model.run(v0, log_f0, steps * dt, dt).states[-1]

    return {
        "langevin": (lambda b, k: langevin.simulate(Q2, xp_of(b).asarray(x2), k * dt, dt, seed=3)[1][-1], 3),
        "svgd_particles": (lambda b, k: svgd_particles.simulate(xp_of(b).asarray(x2), Q2, ff.svgd.Bessel(0.7), 0.5,
                                                                t_end=k * dt, dt=dt)[1][-1], 4),
        "mckean_vlasov_particles": (lambda b, k: mv_particles.simulate(kuramoto_daido(0.8), 1.2, xp_of(b).asarray(theta),
                                                                       k * dt, dt, seed=3)[1][-1], 3),
        "rbf_svgd_particles": (lambda b, k: ff.evolve(svgd_particles.RBFSVGDParticles(Q2), xp_of(b).asarray(x2), k * dt,
                                                      dt=dt).final, 4),
        "landau_blob": (blob, 20),
        "landau_score": (score, 10),
    }


STOCHASTIC = ("langevin", "mckean_vlasov_particles")


@pytest.mark.parametrize("name", ["langevin", "svgd_particles", "rbf_svgd_particles", "mckean_vlasov_particles",
                                  "landau_blob", "landau_score"])
def test_particle_method_runs_on_cupy(name, device):
    if device is None and name in STOCHASTIC:
        pytest.skip("CuPy's random streams differ from NumPy's; compared on the stand-in only")
    run, budget = _particle_cases()[name]
    _close(to_numpy(run("cupy", 2)), to_numpy(run("numpy", 2)), RTOL if device is not None else 1e-10)
    if device is not None:
        _check_steady(name, device, lambda steps: run("cupy", steps), budget)


def test_svgd_analysis_entry_points_run_on_cupy(device):
    """KSD (a device pair sum) and the Stein–Poincaré constant (a host eigensolver fed by the equation's device
    arrays, downloaded once) agree with NumPy."""
    from fieldflow.core.metrics import kernel_stein_discrepancy

    x = np.random.default_rng(5).standard_normal((200, 2))
    values = [kernel_stein_discrepancy(ff.backend.get_namespace(b).asarray(x), lambda y: -y) for b in ("numpy", "cupy")]
    assert values[1] == pytest.approx(values[0], rel=1e-12)
    constants = []
    for backend in ("numpy", "cupy"):
        pde, _ = _svgd(40, 1)(backend)
        constants.append(ff.svgd.stein_poincare(pde, 2).eigenvalues)
    np.testing.assert_allclose(constants[1], constants[0], rtol=1e-10)


# ------------------------------------------------------------------------------------------- spectral, Polchinski
def test_spectral_entry_points_run_on_cupy(device):
    """Spectral gaps are host eigensolvers fed by device operators: the operator is downloaded once, explicitly."""
    from fieldflow.mckean_vlasov.interactions import kuramoto_daido
    from fieldflow.mckean_vlasov.linearized import linearized_operator, linearized_spectrum

    gaps = []
    for backend in ("numpy", "cupy"):
        pde, _ = _fp(24, 2)(backend)
        gaps.append(pde.spectral_gap())
    assert gaps[1] == pytest.approx(gaps[0], rel=1e-10)
    W, K = kuramoto_daido(0.6), 0.7
    ops, spectra = [], []
    for backend in ("numpy", "cupy"):
        grid = ff.Grid.torus(64, backend=backend)
        q = grid.asarray(np.full(64, 1 / (2 * np.pi)))
        ops.append(to_numpy(linearized_operator(W, K, q, modes=12, grid=grid).matrix))
        spectra.append(linearized_spectrum(W, K, q, modes=12, count=4).spectral_gap)
    _close(ops[1], ops[0], RTOL if device is not None else 1e-10)
    assert spectra[1] == pytest.approx(spectra[0], rel=1e-10)


def test_polchinski_entry_points_run_on_cupy(device, monkeypatch):
    """``V_t = −log(γ * e^{−V_0})`` loses ~e^{V_t}·1e-16 relative accuracy where ``e^{−V_t}`` is small, so the
    host FFT providers' round-off (pyFFTW, SciPy) differs from ``numpy.fft``'s by more than 1e-12 there: the
    reference uses ``numpy.fft``, the transform under the stand-in's ``cupy.fft``, and must agree to 1e-12."""
    import fieldflow.polchinski as P
    from fieldflow.polchinski.flow import FieldSpaceFlow

    monkeypatch.setitem(ff.backend._PREFERENCE, "numpy", ("numpy",))
    dec = P.PauliVillars(P.Lattice(1, 1, 1), 1.0)
    values = []
    for backend in ("numpy", "cupy"):
        flow = FieldSpaceFlow(P.phi4(1.0, -1.0), dec, P.field_grid(1, 256, 5.0, backend=backend))
        F = lambda p: p[..., 0] ** 2  # noqa: E731
        values.append((to_numpy(flow.potential(0.5)), flow.expectation(F, 0.5),
                       to_numpy(flow.semigroup(F, 0.2, 0.5))))
    rtol = RTOL if device is not None else 1e-9  # cuFFT's round-off, amplified by the log where e^{-V_t} is small
    _close(values[1][0], values[0][0], rtol)
    assert values[1][1] == pytest.approx(values[0][1], rel=rtol)
    _close(np.nan_to_num(values[1][2]), np.nan_to_num(values[0][2]), rtol)
    samples = []
    for backend in ("numpy", "cupy"):
        lattice = P.Lattice(4.0, 0.5, 2, backend=backend)
        sampler = P.GaussianFieldSampler(P.PauliVillars(lattice, 0.8).covariance(2.0))
        samples.append(to_numpy(sampler.sample(16, seed=5)))
    _close(samples[1], samples[0], rtol)


def test_cupy_defaults_stay_on_the_device(strict_cupy):
    """With default options, 2D and 3D Fokker–Planck take the device path on CuPy (multigrid CG; a time-dependent
    operator GMRES + DCT preconditioner), never a host LU, and their steady steps copy no array."""
    from fieldflow.core.steppers.implicit import _ImplicitSolver

    big, _ = _fp(18, 3)("cupy")  # 5832 unknowns > the 3D direct limit of 5000
    assert _ImplicitSolver(big).linear_solver == "multigrid"
    assert _ImplicitSolver(_fp(24, 2)("cupy")[0]).linear_solver == "multigrid"
    assert _ImplicitSolver(_fp(24, 2)("numpy")[0]).linear_solver == "direct"
    assert _ImplicitSolver(_fp(18, 3)("numpy")[0]).linear_solver == "multigrid"
    timed, _ = _fp_time("cupy")
    assert _ImplicitSolver(timed).linear_solver == "iterative"
    assert _ImplicitSolver(_fp_time("numpy")[0]).linear_solver == "direct"
    case = GridCase(_fp_time, dict(method="trbdf2", dt=2**-7), 40)
    _check_steady("fokker_planck-time-dependent-defaults", strict_cupy, lambda steps: _run(case, "cupy", steps), 40)
