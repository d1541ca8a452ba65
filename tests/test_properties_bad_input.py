"""Random bad values at every public entry point: a clear ``ValueError``/``TypeError`` naming the argument, or a
finite, valid result — never another exception type, never NaN.

Each entry point is called with arguments that work (``good``), one of them replaced by a value drawn by
Hypothesis from :data:`VALUES`: NaN, ±inf, zero, negative and non-integral numbers, NumPy scalars, 0-d and
1-d arrays, strings, complex numbers, ``None``, booleans, lists, containers and plain objects — and valid
values too, since the property must hold for those as well.  Random magnitudes stay within ``1e6`` (plus ``1e12``
and ``1e-12`` drawn as such): how a solver copes with finite but astronomically large parameters is a question of
scale, not of input checking, and a count of ``1e9`` would allocate gigabytes before any check could object.

The property, per call:

* a ``ValueError`` or ``TypeError`` whose message names the argument (or one of its aliases in the
  message, e.g. ``"diffusion coefficient D"``), or
* a result with nothing non-finite in it (numbers, arrays, and the ``repr`` of a constructed object — an object
  built from ``a=nan`` shows ``nan`` there);
* for :func:`fieldflow.evolve` also :class:`fieldflow.StructureError`, the designed answer to a run whose scheme
  breaks a conserved structure (e.g. ``t_end = 4e10``, where TR-BDF2's steps of ``~10⁶`` lose mass to round-off
  beyond ``mass_tol``): it names the structure, the time and the tolerance, and carries the trajectory.

Anything else (``KeyError``, ``IndexError``, ``ZeroDivisionError``, a ``RuntimeWarning`` turned into an error by the
test configuration, a silent NaN) fails.  Hypothesis runs derandomised (a fixed seed) with :data:`EXAMPLES`
examples per entry point; the calls are cheap (constructors, validation, a few steps on tiny grids: runs are capped at ``max_steps=200``,
which the entries vary too).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fieldflow as ff
import fieldflow.polchinski as P
from fieldflow.core.sweep import sweep
from fieldflow.core.validation import SetupWarning, as_covariance
from fieldflow.fokker_planck import Langevin, QuantileJKO, TimeDependentFokkerPlanck
from fieldflow.fokker_planck.langevin import sample_gaussian
from fieldflow.landau import BKW, BlobLandau, JKOLandau, Landau, ScoreLandau, check_gamma
from fieldflow.mckean_vlasov import (Fourier, LinearizedMcKeanVlasov, McKeanVlasov, Oscillators,
                                     constrained_free_energy, coupling_ratio, critical_coupling, kuramoto,
                                     kuramoto_daido, kuramoto_free_energy_profile, stationary_states,
                                     uniform_eigenvalues)
from fieldflow.mckean_vlasov import finite_size as fs
from fieldflow.mckean_vlasov.continuation import bifurcation_diagram, spectral_fold
from fieldflow.mckean_vlasov.landscape import free_energy_landscape
from fieldflow.mckean_vlasov.self_consistency import SelfConsistency, non_even_states
from fieldflow.potentials import Banana, DoubleWell, FromFunctions, GaussianMixture, Quadratic
from fieldflow.svgd import Bessel, Gaussian, LocalSVGDFlow, RBFSVGDParticles, SVGDFlow, SVGDParticles, theorem_rate
from fieldflow.svgd.particles import median_bandwidth, rbf_velocity
from fieldflow.core.metrics import kernel_stein_discrepancy

#: examples per entry point
EXAMPLES = 200

BOX = ff.Grid.box(8, 3.0)
BOX2 = ff.Grid.box(6, 3.0, dim=2)
TORUS = ff.Grid.torus(16)
Q1 = Quadratic(1.0)
FP = ff.FokkerPlanck(BOX, Q1)
RHO = ff.densities.gaussian(BOX, 0.3, 0.8)
LATTICE = P.Lattice(1, 1)
PV = P.PauliVillars(LATTICE, 1.0)
PHI4 = P.phi4(1.0, -1.0)
X0 = np.linspace(-1.0, 1.0, 12)[:, None]


def _square(x):
    return 0.5 * np.sum(x * x, axis=-1)


def _identity(x):
    return x


def _negate(x):
    return -x


VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not math.isfinite(x) or abs(x) <= 1e6),
    st.integers(-10**4, 10**4),
    st.sampled_from([None, True, False, "1.0", "abc", "", 1 + 2j, [], [1.0, math.nan], [[1.0, 2.0], [3.0]],
                     math.nan, -math.inf, np.float64(-1.0), np.float64(math.nan), np.int64(3), np.int64(-2),
                     np.float32(0.5), np.array([1.0, 2.0]), np.array(2.0), np.array([math.nan]), {"a": 1}, (1, 2),
                     object(), 1e-12, 1e12, 0.5, 2.5, 7]),
    st.complex_numbers(max_magnitude=10, allow_nan=False, allow_infinity=False),
    st.text(max_size=4),
    st.lists(st.floats(-10, 10), min_size=0, max_size=3),
    st.integers(0, 10).map(np.int64),
    st.floats(-10, 10).map(np.float64),
)


@dataclass
class Entry:
    """A public entry point: ``call(**good)`` works; ``aliases`` are other words its messages use for an argument."""

    name: str
    call: Callable[..., Any]
    good: dict[str, Any]
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: what a valid result is (default: nothing non-finite in it)
    valid: Callable[[Any], bool] | None = None

    def __repr__(self) -> str:
        return self.name


def _finite_or_outside(result: Any) -> bool:
    """The constrained free energy: finite, or NaN where the moments lie outside the moment space (by design)."""
    return not np.any(np.isinf(result))


def _evolve(**kw):
    return ff.evolve(kw.pop("problem"), kw.pop("state0"), kw.pop("t_end"), **kw)


#: what evolve's messages call its arguments besides their names
EVOLVE = {"state0": ("initial density", "particle positions", "particles"), "method": ("stepper",),
          "dt": ("t_end/dt",), "cfl": ("cfl",), "t_end": ("t_end",)}


ENTRIES = [
    # ------------------------------------------------------------------ core
    Entry("Grid.box", ff.Grid.box, dict(n=8, extent=3.0, dim=1, backend="numpy")),
    Entry("Grid.torus", ff.Grid.torus, dict(n=8, dim=1, backend="numpy")),
    Entry("evolve (grid)", _evolve,
          dict(problem=FP, state0=RHO, t_end=0.05, method="euler", dt=0.025, adaptive=False, save_every=None,
               save_times=None, diagnostics_every=1, check=True, mass_tol=1e-10, progress=False,
               checkpoint_every=60.0, max_steps=200),
          EVOLVE),
    Entry("evolve (trbdf2 options)", _evolve,
          dict(problem=FP, state0=RHO, t_end=0.05, rtol=1e-5, atol=1e-8, newton_tol=1e-10, max_newton=30,
               max_steps=200),
          EVOLVE),
    Entry("evolve (krylov-exp options)", _evolve,
          dict(problem=FP, state0=RHO, t_end=0.05, method="krylov-exp", rtol=1e-10, atol=0.0, max_dim=1000,
               dense_limit=2048, max_steps=200),
          EVOLVE),
    Entry("evolve (ssprk3 options)", _evolve, dict(problem=FP, state0=RHO, t_end=0.01, method="ssprk3", cfl=0.9,
                                                   max_steps=200),
          EVOLVE),
    Entry("evolve (particles)", _evolve,
          dict(problem=Langevin(Q1), state0=X0, t_end=0.02, dt=0.01, seed=1, max_steps=200),
          EVOLVE),
    # a sweep returns func's values, NaN included, with a SweepFailure where func raised (errors="record")
    Entry("sweep", sweep, dict(func=abs, params=[1, -2], executor="serial", max_workers=None, chunks=None,
                               errors="record"), {"executor": ("executor",)},
          valid=lambda result: isinstance(result, list)),
    Entry("as_covariance", as_covariance, dict(cov=0.5, dim=2), {"dim": ("dimension",)}),
    # ------------------------------------------------------------------ densities and potentials
    Entry("densities.gaussian", ff.densities.gaussian, dict(grid=BOX, mean=0.2, cov=0.7)),
    Entry("densities.normalize", ff.densities.normalize, dict(grid=BOX, rho=np.ones(8)), {"rho": ("density",)}),
    Entry("densities.from_function", ff.densities.from_function, dict(grid=BOX, func=lambda x: np.exp(-x[..., 0] ** 2)),
          {"func": ("func", "density")}),
    Entry("Quadratic", Quadratic, dict(cov=1.0, mean=0.0, dim=None)),
    Entry("GaussianMixture", GaussianMixture, dict(means=[-1.0, 1.0], cov=0.5, weights=[0.3, 0.7])),
    Entry("Banana", Banana, dict(a=1.0, b=1.0, sigma=1.0)),
    Entry("DoubleWell", DoubleWell, dict(barrier=1.0, separation=1.0, dim=None)),
    Entry("FromFunctions", FromFunctions, dict(value=_square, gradient=_identity, dim=1, hessian_lower_bound=1.0)),
    Entry("potential_on_grid", ff.potentials.potential_on_grid, dict(grid=BOX, V=Q1, name="V")),
    # ------------------------------------------------------------------ Fokker–Planck
    Entry("FokkerPlanck", ff.FokkerPlanck, dict(grid=BOX, V=Q1, D=1.0, mobility=None),
          {"V": ("V",), "D": ("diffusion coefficient D",)}),
    Entry("TimeDependentFokkerPlanck", TimeDependentFokkerPlanck,
          dict(grid=BOX, V_of_t=lambda t: Q1, D_of_t=1.0, cache=8), {"D_of_t": ("D(t)",)}),
    Entry("Langevin", Langevin, dict(V=Q1, D=1.0)),
    Entry("QuantileJKO", QuantileJKO, dict(V=Q1, D=1.0, tol=1e-12)),
    Entry("sample_gaussian", sample_gaussian, dict(n=10, mean=0.0, cov=1.0, dim=1, seed=0),
          {"cov": ("covariance",), "dim": ("dimension",)}),
    # ------------------------------------------------------------------ SVGD
    Entry("Bessel", Bessel, dict(scale=1.0, dim=None), {"scale": ("kernel scale",)}),
    Entry("Gaussian kernel", Gaussian, dict(scale=1.0, dim=None), {"scale": ("kernel scale",)}),
    Entry("LocalSVGDFlow", LocalSVGDFlow, dict(grid=BOX, V=Q1, alpha=0.25, beta=0.0, allow_violation=False),
          {"grid": ("Grid.box",), "beta": ("beta", "V0")}),
    Entry("SVGDFlow", SVGDFlow, dict(grid=BOX, V=Q1, kernel=Gaussian(0.5), alpha=0.25, beta=0.0, jump_limit=2.0),
          {"grid": ("Grid.box",), "kernel": ("Kernel",), "beta": ("beta", "V0")}),
    Entry("SVGDParticles", SVGDParticles, dict(V=Q1, kernel=Gaussian(0.5), alpha=0.25, beta=0.0, self_radius=None),
          {"kernel": ("Kernel",)}),
    Entry("RBFSVGDParticles", RBFSVGDParticles, dict(V=Q1, bandwidth=0.5, memory_bytes=2**20)),
    Entry("rbf_velocity", rbf_velocity, dict(x=X0, V=Q1, bandwidth=0.5, memory_bytes=2**20),
          {"x": ("particles",)}),
    Entry("median_bandwidth", median_bandwidth, dict(x=X0), {"x": ("particles",)}),
    Entry("kernel_stein_discrepancy", kernel_stein_discrepancy, dict(samples=X0, score=_negate, weights=None, scale=1.0)),
    Entry("theorem_rate", theorem_rate, dict(alpha=0.25, beta=0.0, kernel=Bessel(1.0), mass_e_minus_v=1.0),
          {"kernel": ("Kernel",)}),
    # ------------------------------------------------------------------ McKean–Vlasov
    Entry("Fourier", Fourier, dict(coefficients={1: 1.0, 2: 0.5}),
          {"coefficients": ("coefficient", "coefficients", "modes", "mode")}),
    Entry("kuramoto_daido", kuramoto_daido, dict(m=0.5)),
    Entry("McKeanVlasov", McKeanVlasov, dict(grid=TORUS, W=kuramoto(), K=1.5),
          {"grid": ("Grid.torus",), "K": ("coupling K",)}),
    Entry("Oscillators", Oscillators, dict(W=kuramoto(), K=1.5), {"K": ("coupling K",)}),
    Entry("critical_coupling", critical_coupling, dict(W=kuramoto_daido(0.8), n=None), {"W": ("Fourier",)}),
    Entry("coupling_ratio", coupling_ratio, dict(W=kuramoto_daido(0.8), a=[0.5, 0.5], n=64), {"W": ("Fourier",)}),
    Entry("uniform_eigenvalues", uniform_eigenvalues, dict(W=kuramoto(), K=0.5, modes=4),
          {"K": ("coupling K",), "W": ("Fourier",)}),
    Entry("LinearizedMcKeanVlasov", LinearizedMcKeanVlasov, dict(grid=TORUS, W=kuramoto(), K=0.5,
                                                                 q=np.full(16, 1 / (2 * math.pi))),
          {"grid": ("Grid.torus",), "K": ("coupling K",), "q": ("stationary density q",)}),
    Entry("stationary_states", stationary_states, dict(W=kuramoto(), K=0.5, n=32, tol=1e-12),
          {"K": ("coupling K",), "W": ("Fourier",)}),
    Entry("kuramoto_free_energy_profile", kuramoto_free_energy_profile, dict(K=2.0, r=[0.1, 0.5]),
          {"K": ("coupling K",)}),
    Entry("constrained_free_energy", constrained_free_energy,
          dict(W=kuramoto_daido(0.5), K=1.0, moments=[0.1, 0.0], n=64, a_max=60.0),
          {"K": ("coupling K",), "W": ("Fourier",)}, valid=_finite_or_outside),
    Entry("euler_maruyama_coupling", fs.euler_maruyama_coupling, dict(W=kuramoto(), K=1.0, dt=0.01),
          {"K": ("coupling K",), "W": ("Fourier",)}),
    Entry("default_time_step", fs.default_time_step, dict(N=100)),
    Entry("critical_order_parameter", fs.critical_order_parameter, dict(W=kuramoto(), N=[100, 400]),
          {"W": ("Fourier",)}),
    Entry("subcritical_order_parameter", fs.subcritical_order_parameter, dict(W=kuramoto(), K=0.5, N=[100, 400]),
          {"K": ("coupling K",), "W": ("Fourier",)}),
    Entry("sample_state", fs.sample_state, dict(W=kuramoto(), K=1.0, N=10, seed=0, ordered=True, n=256),
          {"K": ("coupling K",), "W": ("Fourier",)}),
    Entry("k_ramp", fs.k_ramp, dict(W=kuramoto(), Ks=[1.0], N=4, t_segment=0.2, average=0.1, dt=0.05, every=0.05,
                                    seed=0, initial="uniform"),
          {"K": ("coupling K",), "Ks": ("Ks", "coupling"), "W": ("Fourier",)}),
    Entry("free_energy_landscape", free_energy_landscape,
          dict(W=kuramoto_daido(0.5), K=1.0, r1=[0.2], r2=[0.1], n=32, a_max=40.0),
          {"K": ("coupling K",), "W": ("Fourier",)}, valid=lambda land: _finite_or_outside(land.values)),
    Entry("SelfConsistency", SelfConsistency, dict(W=kuramoto_daido(0.5), n=32, full=False), {"W": ("Fourier",)}),
    Entry("non_even_states", non_even_states, dict(W=kuramoto_daido(0.5), K=1.0, n=32, per_axis=2, tol=1e-10),
          {"K": ("coupling K",), "W": ("Fourier",)}),
    Entry("bifurcation_diagram", bifurcation_diagram,
          dict(W=kuramoto(), K_range=(0.5, 1.5), n=32, h_max=0.1, modes=8, count=2, seeds=1, spectra=False,
               max_points=50),
          {"K_range": ("K_range", "coupling"), "W": ("Fourier",)}),
    # ------------------------------------------------------------------ Landau
    Entry("check_gamma", check_gamma, dict(gamma=0.0, C=1.0), {"C": ("collision constant C",)}),
    Entry("BKW", BKW, dict(dim=2, C=None, alpha=None), {"C": ("collision constant C",)}),
    Entry("Landau", Landau, dict(grid=BOX2, gamma=0.0, C=None, wall_tol=1e-6),
          {"grid": ("Grid.box",), "C": ("collision constant C",)}),
    Entry("BlobLandau", BlobLandau, dict(grid=BOX2, gamma=0.0, C=None, epsilon=None, method="heun", tol=1e-14,
                                         max_iter=60, wall_tol=1e-4, drop_tol=1e-12),
          {"grid": ("Grid.box",), "C": ("collision constant C",)}),
    Entry("ScoreLandau", ScoreLandau, dict(dim=2, gamma=0.0, C=None, ridge="cv", folds=5, method="heun"),
          {"C": ("collision constant C",), "dim": ("dimension",)}),
    Entry("JKOLandau", JKOLandau, dict(dim=2, gamma=0.0, C=None, inner_steps=1, jacobian="logdet", batch_size=None,
                                       gtol=1e-6, ftol=1e-10, max_iter=200, conserve_energy=True),
          {"C": ("collision constant C",), "dim": ("dimension",)}),
    # ------------------------------------------------------------------ Polchinski
    Entry("Lattice", P.Lattice, dict(L=4.0, eps=1.0, dim=1, backend="numpy"), {"L": ("L/eps",), "eps": ("L/eps",)}),
    Entry("PauliVillars", P.PauliVillars, dict(lattice=LATTICE, mass=1.0)),
    Entry("HeatKernel", P.HeatKernel, dict(lattice=LATTICE, mass=1.0)),
    Entry("FromDerivative", P.FromDerivative, dict(lattice=LATTICE, derivative=lambda t, k: 1.0 / (1.0 + t) ** 2,
                                                   second_derivative=None, rtol=1e-10)),
    Entry("phi4", P.phi4, dict(g=1.0, nu=-1.0)),
    Entry("sine_gordon", P.sine_gordon, dict(z=1.0, beta=1.0)),
    Entry("QuadraticPotential", P.QuadraticPotential, dict(Q=1.0)),
    Entry("polchinski.QuantileJKO", P.QuantileJKO, dict(decomposition=PV)),
    Entry("polchinski.GaussianJKO", P.GaussianJKO, dict(decomposition=PV)),
    Entry("FieldSpaceFlow", P.FieldSpaceFlow, dict(V0=PHI4, decomposition=PV, grid=P.field_grid(1, 32, 5.0),
                                                   rel_floor=1e-6), {"grid": ("Grid", "field grid")}),
    Entry("field_grid", P.field_grid, dict(sites=1, n=16, extent=4.0, backend="numpy")),
    Entry("periodic_field_grid", P.periodic_field_grid, dict(sites=1, n=16, period=6.0, backend="numpy")),
    Entry("measure_density", P.measure_density, dict(V0=PHI4, decomposition=PV, t=0.5, phi=np.zeros(3),
                                                     rescaled=False), {"decomposition": ("CovarianceDecomposition",)}),
    Entry("measure_mc", P.measure_mc, dict(V0=PHI4, decomposition=PV, t=0.5, F=lambda z: z[:, 0], samples=64),
          {"decomposition": ("CovarianceDecomposition",)}),
    Entry("measure_flow", P.measure_flow, dict(V0=PHI4, decomposition=PV, grid=P.field_grid(1, 200, 5.0),
                                               rescaled=False), {"decomposition": ("CovarianceDecomposition",),
                                                                 "grid": ("field grid", "box")}),
]


def _names(arg: str, entry: Entry) -> tuple[str, ...]:
    return (arg, *entry.aliases.get(arg, ()))


def _finite(result: Any) -> bool:
    """Whether a result has nothing non-finite in it (numbers, arrays, containers, constructed objects)."""
    if isinstance(result, (bool, str)) or result is None:
        return True
    if isinstance(result, (int, float, complex, np.number)):
        return bool(np.isfinite(result))
    if isinstance(result, np.ndarray):
        return result.dtype.kind not in "fc" or bool(np.all(np.isfinite(result)))
    if isinstance(result, (list, tuple)):
        return all(_finite(r) for r in result)
    if isinstance(result, ff.Trajectory):
        return all(np.all(np.isfinite(s)) for s in result.states) and all(
            np.all(np.isfinite(v)) for k, v in result.diagnostics.items())
    text = repr(result).lower()
    return re.search(r"\b(nan|inf)\b", text) is None


def _call(entry: Entry, arg: str, value: Any) -> None:
    kwargs = {**entry.good, arg: value}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SetupWarning)  # a warning about the set-up is a valid answer
            warnings.simplefilter("ignore", ff.core.validation.RenormalisedDensityWarning)
            result = entry.call(**kwargs)
    except ff.StructureError as exc:
        assert entry.call is _evolve and "tolerance" in str(exc) or "became" in str(exc), str(exc)
        return
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert any(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", message) for n in _names(arg, entry)), (
            f"{entry.name}({arg}={value!r}) raised {type(exc).__name__} without naming {arg!r}: {message}")
        return
    valid = entry.valid or _finite
    assert valid(result), f"{entry.name}({arg}={value!r}) returned an invalid result: {result!r}"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_bad_values_give_a_clear_error_or_a_finite_result(entry):
    assert (entry.valid or _finite)(entry.call(**entry.good))  # the good call works

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(arg=st.sampled_from(sorted(entry.good)), value=VALUES)
    def check(arg, value):
        _call(entry, arg, value)

    check()


@pytest.mark.slow
def test_spectral_fold_bad_values_give_a_clear_error_or_a_finite_result():
    """``spectral_fold`` needs a fold of a computed branch (one continuation, ~1 s) and each valid call solves
    the self-consistency along the branch (~0.4 s): the same property as above, in the slow suite."""
    W = kuramoto_daido(0.6)
    fold = bifurcation_diagram(W, (0.5, 1.4), spectra=False).folds[0]
    entry = Entry("spectral_fold", spectral_fold, dict(W=W, fold=fold, width=0.02, modes=32, n=None),
                  {"W": ("Fourier",), "fold": ("SpecialPoint", "fold")},
                  valid=lambda out: np.isfinite(out[0]) and bool(np.all(np.isfinite(out[1]))))
    test_bad_values_give_a_clear_error_or_a_finite_result(entry)


def test_every_problem_and_target_of_the_package_is_covered():
    """Every public class of the families that a study builds a run from (a problem of ``evolve``, a kernel, an
    interaction, a potential, a lattice or covariance) is an entry point above, so a new one cannot join the API
    without its bad-input property."""
    import importlib

    from fieldflow.core.problem import Problem

    covered = {e.call for e in ENTRIES}
    bases = (Problem, ff.potentials.Potential, ff.svgd.Kernel, Fourier, P.CovarianceDecomposition)  # MeasureFlow:
    # built by measure_flow, an entry point
    missing = []
    for family in ("fokker_planck", "svgd", "mckean_vlasov", "landau", "polchinski"):
        module = importlib.import_module(f"fieldflow.{family}")
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, bases) and obj not in covered and not name.startswith("_") \
                    and obj not in (ff.svgd.Kernel, P.CovarianceDecomposition, P.MeasureFlow):
                missing.append(f"{family}.{name}")
    for name in ff.potentials.__all__:
        obj = getattr(ff.potentials, name)
        if isinstance(obj, type) and issubclass(obj, ff.potentials.Potential) and obj is not ff.potentials.Potential:
            if obj not in covered:
                missing.append(f"potentials.{name}")
    assert not missing, missing
    assert len(ENTRIES) >= 55


def test_the_documentation_states_how_many_entry_points_are_covered():
    """docs/bad_input.rst quotes the number of entry points of this module; it must be the number above."""
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "bad_input.rst").read_text(encoding="utf-8")
    quoted = re.search(r"at (\d+) entry points", " ".join(page.split()))
    assert quoted and int(quoted.group(1)) == len(ENTRIES), (quoted and quoted.group(0), len(ENTRIES))
    assert f"{EXAMPLES} examples each" in " ".join(page.split())
