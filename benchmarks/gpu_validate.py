"""GPU validation of fieldflow's CuPy paths: environment, the CuPy test cases, every solver family against NumPy.

Run on the GPU machine, from the repository root (fieldflow need not be installed; no pyFFTW, no Dask needed)::

    PYTHONPATH=. python benchmarks/gpu_validate.py --out benchmarks/results/gpu

It finishes in under 8 minutes on one GPU (``--budget`` seconds, default 400, after which the remaining
sections are recorded as skipped), printing progress as it goes.  Into ``--out`` it writes ``gpu_validate.md``
(the table) and ``gpu_validate.json`` (raw numbers), rewritten after every section, so a run cut short
still leaves a table.  Each section runs inside ``try``: a failure is recorded (its error text in the table)
and the next section runs.

Sections (``--only a,b`` / ``--skip c``):

``env``            GPU, driver and runtime versions, CuPy/NumPy/SciPy versions, host cores and FFT provider
``tests``          ``pytest -m "not slow" -k cupy`` in a subprocess (the real-CuPy and stand-in cases)
``fft``            rfftn + irfftn pairs of 2²⁰, 1024², 128³ points
``mckean_vlasov``  ETDRK4 steps of McKean–Vlasov on the torus, n = 2²⁰
``fokker_planck``  TR-BDF2 steps of Fokker–Planck, 512² and 128³ (default solvers: multigrid CG on the GPU), the
                   default ``krylov-exp`` (one exponential over τ = 1/4: Chebyshev, and Lanczos forced), and
                   128³ with GMRES + DCT preconditioner
``landau``         the Coulomb (γ = −3) Landau right-hand side, 96² and 32³
``svgd``           one implicit LogTRBDF2 step of mean-field SVGD on 256² (Jacobi on the GPU, LU on the host)
``blob_pairs``     the blob method's Coulomb pair sum (``landau_velocity``) in ns per pair, N = 10⁵ on the GPU
``coulomb_blob``   the blob method's initial bi-Maxwellian relaxation rate at ε = 0.16 (N ≈ 10⁵) against the
                   grid solver's (n = 32) and the exact rate

Each solver row gives seconds per step (or per evaluation) on the GPU and on the host CPU (NumPy, same
problem, same number of steps from the same state, timed after a warm-up step that builds plans and
factorisations) and the relative difference ``max|u_gpu − u_cpu| / max|u_cpu|`` of the results.

``--quick`` halves the sizes; ``--dry-run`` runs everything on the CPU with the strict CuPy stand-in of
``tests/cupy_strict`` in place of CuPy, at small sizes, to check the script before a GPU is lent.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("env", "tests", "fft", "mckean_vlasov", "fokker_planck", "landau", "svgd", "blob_pairs", "coulomb_blob")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ------------------------------------------------------------------------------------------- sizes
def sizes(quick: bool, dry: bool) -> dict[str, Any]:
    """Problem sizes per section: full (GPU-sized), ``--quick`` (halved), ``--dry-run`` (CPU-sized)."""
    if dry:
        return dict(fft=[(2**12,), (64, 64), (16, 16, 16)], mv=2**12, fp2=64, fp3=16, landau=[(24, 2), (8, 3)],
                    svgd=32, pairs_gpu=600, pairs_cpu=600, blob_eps=0.8, blob_extent=6.5, grid_n=16, tests_k=(
                        "cupy-strict and (fokker_planck-1d-trbdf2 or svgd-1d-log-trbdf2)"))
    if quick:
        return dict(fft=[(2**19,), (512, 512), (64, 64, 64)], mv=2**19, fp2=256, fp3=64, landau=[(48, 2), (16, 3)],
                    svgd=128, pairs_gpu=30_000, pairs_cpu=4_000, blob_eps=0.3, blob_extent=6.5, grid_n=24,
                    tests_k="cupy")
    return dict(fft=[(2**20,), (1024, 1024), (128, 128, 128)], mv=2**20, fp2=512, fp3=128, landau=[(96, 2), (32, 3)],
                svgd=256, pairs_gpu=100_000, pairs_cpu=10_000, blob_eps=0.16, blob_extent=6.5, grid_n=32,
                tests_k="cupy")


# ------------------------------------------------------------------------------------------- helpers
class Context:
    """What the sections share: sizes, the device namespace, timing with synchronisation."""

    def __init__(self, args: argparse.Namespace):
        self.args, self.dry = args, args.dry_run
        self.size = sizes(args.quick, args.dry_run)
        import cupy

        self.cp = cupy

    def sync(self) -> None:
        self.cp.cuda.Device().synchronize()

    def timed(self, fn: Callable[[], Any], device: bool, repeat: int = 1) -> tuple[Any, float]:
        """``(result of the last call, seconds per call)``; device calls are synchronised before and after."""
        if device:
            self.sync()
        t0 = time.perf_counter()
        for _ in range(repeat):
            out = fn()
        if device:
            self.sync()
        return out, (time.perf_counter() - t0) / repeat


def rel_diff(gpu: Any, cpu: Any) -> float:
    from fieldflow.core.backend import to_numpy

    gpu, cpu = np.asarray(to_numpy(gpu)), np.asarray(to_numpy(cpu))
    return float(np.max(np.abs(gpu - cpu)) / max(np.max(np.abs(cpu)), 1e-300))


def row(family: str, size: str, gpu_s: float | None, cpu_s: float | None, diff: float | None, unit: str = "s/step",
        note: str = "") -> dict[str, Any]:
    return {"family": family, "size": size, "gpu": gpu_s, "cpu": cpu_s, "unit": unit, "rel_diff": diff, "note": note,
            "speedup": (cpu_s / gpu_s) if gpu_s and cpu_s else None}


def stepping(ctx: Context, make: Callable[[str], tuple[Any, Any]], method: str, dt: float, steps: int,
             options: dict, family: str, size: str, note: str = "",
             cpu_options: dict | None = None, cpu_steps: int | None = None) -> dict[str, Any]:
    """Seconds per step after one warm-up step, on each backend, and the relative difference of the states
    after ``1 + steps`` steps (the host may take fewer timed steps, ``cpu_steps``; it then continues untimed)."""
    from fieldflow.core.steppers import make_stepper

    results, seconds = {}, {}
    for backend in ("cupy", "numpy"):
        pde, rho0 = make(backend)
        opts = dict(options if backend == "cupy" else (cpu_options or options))
        stepper = make_stepper(method, pde, dt=dt, adaptive=False, **opts)
        state = pde.validate(rho0)
        stepper.initial_dt(state, 0.0, (steps + 1) * dt)
        device = backend == "cupy"
        state, _ = ctx.timed(lambda: stepper.step(state, 0.0, dt).state, device)
        timed_steps = steps if device or cpu_steps is None else min(steps, cpu_steps)
        t = dt
        t0 = time.perf_counter()
        if device:
            ctx.sync()
        for k in range(timed_steps):
            state = stepper.step(state, t, dt).state
            t += dt
        if device:
            ctx.sync()
        seconds[backend] = (time.perf_counter() - t0) / timed_steps
        for k in range(timed_steps, steps):
            state = stepper.step(state, t, dt).state
            t += dt
        results[backend] = state
        log(f"  {family} {size} {backend}: {seconds[backend]:.4g} s/step")
    return row(family, size, seconds["cupy"], seconds["numpy"], rel_diff(results["cupy"], results["numpy"]), note=note)


# ------------------------------------------------------------------------------------------- sections
def section_env(ctx: Context) -> dict[str, Any]:
    import scipy

    from fieldflow.core import backend

    cp = ctx.cp
    props = cp.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    out = {"gpu": name, "gpu_memory_GiB": round(props.get("totalGlobalMem", 0) / 2**30, 1),
           "driver": cp.cuda.runtime.driverGetVersion(), "cuda_runtime": cp.cuda.runtime.runtimeGetVersion(),
           "cupy": cp.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
           "python": platform.python_version(), "host_cores": os.cpu_count(),
           "host_fft": backend.get_fft(backend="numpy").name, "dry_run": ctx.dry}
    log(f"  {out}")
    return out


def section_tests(ctx: Context) -> dict[str, Any]:
    command = [sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-k", ctx.size["tests_k"], "-p", "no:cacheprovider",
               "-o", "addopts=", str(ROOT / "tests")]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    log(f"  {shlex.join(command[1:])}")
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=ctx.args.tests_timeout)
        output, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        output, code = (exc.stdout or "") + (exc.stderr or "") if isinstance(exc.stdout, str) else "", "timeout"
    lines = [line for line in output.splitlines() if line.strip()]
    summary = next((line for line in reversed(lines) if " passed" in line or " failed" in line or " error" in line),
                   lines[-1] if lines else "")
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    log(f"  {summary}")
    return {"command": shlex.join(command[1:]), "returncode": code, "summary": summary.strip("= "), "failed": failed,
            "tail": "\n".join(lines[-60:])}


def section_fft(ctx: Context) -> list[dict[str, Any]]:
    from fieldflow.core.backend import get_fft

    rows = []
    for shape in ctx.size["fft"]:
        x = np.random.default_rng(0).standard_normal(shape)
        axes = tuple(range(-len(shape), 0))
        out, secs = {}, {}
        for backend in ("cupy", "numpy"):
            fft = get_fft(backend=backend)
            xb = ctx.cp.asarray(x) if backend == "cupy" else x
            pair = lambda: fft.irfftn(fft.rfftn(xb, axes=axes), s=shape, axes=axes)  # noqa: E731
            pair()  # plans
            out[backend], secs[backend] = ctx.timed(pair, backend == "cupy", repeat=5)
            forward = fft.rfftn(xb, axes=axes)
            out[backend + "_hat"] = forward
        label = "×".join(map(str, shape))
        log(f"  fft {label}: gpu {secs['cupy']:.3g} s, cpu {secs['numpy']:.3g} s")
        rows.append(row("FFT pair (rfftn+irfftn)", label, secs["cupy"], secs["numpy"],
                        rel_diff(out["cupy_hat"], out["numpy_hat"]), unit="s/pair", note="diff: forward transform"))
    return rows


def section_mckean_vlasov(ctx: Context) -> list[dict[str, Any]]:
    import fieldflow as ff
    from fieldflow.mckean_vlasov import McKeanVlasov
    from fieldflow.mckean_vlasov.interactions import kuramoto_daido

    n = ctx.size["mv"]

    def make(backend):
        g = ff.Grid.torus(n, backend=backend)
        theta = 2 * np.pi * np.arange(n) / n
        q0 = np.exp(np.cos(theta) + 0.3 * np.cos(3 * theta))
        return McKeanVlasov(g, kuramoto_daido(0.8), 1.2), q0 / (q0.sum() * 2 * np.pi / n)

    return [stepping(ctx, make, "etdrk4", 2**-6, 4, {}, "McKean–Vlasov ETDRK4", f"n = {n}")]


def section_fokker_planck(ctx: Context) -> list[dict[str, Any]]:
    import fieldflow as ff

    rows = []
    n2, n3 = ctx.size["fp2"], ctx.size["fp3"]

    def make(n, dim):
        def build(backend):
            g = ff.Grid.box(n, 5.0, dim, backend=backend)
            V = ff.potentials.Quadratic(1.0, dim=dim)
            return ff.FokkerPlanck(g, V), ff.densities.gaussian(g, mean=[1.0, -0.5, 0.3][:dim], cov=0.5)
        return build

    rows.append(stepping(ctx, make(n2, 2), "trbdf2", 2**-7, 3, {}, "Fokker–Planck TR-BDF2", f"{n2}²",
                         note="default solvers: GPU multigrid CG, CPU sparse LU"))
    rows.append(stepping(ctx, make(n3, 3), "trbdf2", 2**-7, 2, {"linear_solver": "multigrid"}, "Fokker–Planck TR-BDF2",
                         f"{n3}³", note="multigrid CG on both (the default beyond 5000 cells)", cpu_steps=1))
    iterative = {"linear_solver": "iterative", "preconditioner": "dct"}
    rows.append(stepping(ctx, make(n3, 3), "trbdf2", 2**-7, 2, iterative, "Fokker–Planck TR-BDF2", f"{n3}³",
                         note="GMRES + DCT preconditioner on both", cpu_steps=1))
    # the default since 2026-12-01: one exact exponential per save interval (here τ = 1/4)
    for n, dim, options, note in ((n2, 2, {}, "default (Chebyshev beyond a 256 MB Lanczos basis)"),
                                  (n3, 3, {}, "default (Chebyshev beyond a 256 MB Lanczos basis)"),
                                  (n3, 3, {"algorithm": "lanczos"}, "Lanczos forced (two passes)")):
        rows.append(stepping(ctx, make(n, dim), "krylov-exp", 0.25, 2, options, "Fokker–Planck krylov-exp (τ = 1/4)",
                             f"{n}{'²' if dim == 2 else '³'}", note=note, cpu_steps=1))
    return rows


def section_landau(ctx: Context) -> list[dict[str, Any]]:
    import fieldflow as ff
    from fieldflow.core.backend import to_numpy

    rows = []
    for n, dim in ctx.size["landau"]:
        out, secs = {}, {}
        for backend in ("cupy", "numpy"):
            g = ff.Grid.box(n, 8.0, dim, backend=backend)
            pde = ff.landau.Landau(g, gamma=-3.0, C=1.0)
            T = (1.3,) + (0.85,) * (dim - 1)
            f = pde.validate(ff.densities.gaussian(g, 0.0, T))
            pde.rhs(f, 0.0)  # plans
            out[backend], secs[backend] = ctx.timed(lambda: pde.rhs(f, 0.0), backend == "cupy", repeat=3)
            out[backend] = to_numpy(out[backend])
        label = f"{n}^{dim}".replace("^2", "²").replace("^3", "³")
        log(f"  landau {label}: gpu {secs['cupy']:.3g} s, cpu {secs['numpy']:.3g} s")
        rows.append(row("Landau Coulomb rhs", label, secs["cupy"], secs["numpy"], rel_diff(out["cupy"], out["numpy"]),
                        unit="s/rhs"))
    return rows


def section_svgd(ctx: Context) -> list[dict[str, Any]]:
    import fieldflow as ff

    n = ctx.size["svgd"]

    def make(backend):
        g = ff.Grid.box(n, 4.0, 2, backend=backend)
        pde = ff.SVGDFlow(g, ff.potentials.Quadratic(1.0, dim=2), ff.svgd.Bessel(1.0), alpha=0.5)
        return pde, ff.densities.gaussian(g, mean=[1.0, 0.5], cov=0.5)

    return [stepping(ctx, make, "log-trbdf2", 0.02, 1, {}, "SVGD LogTRBDF2 (one implicit step)", f"{n}²",
                     note="preconditioner: Jacobi on the GPU, LU on the host (diff = the solvers' tolerance)")]


def _bimaxwellian_particles(ctx: Context, n: int, backend: str):
    rng = np.random.default_rng(1)
    v = rng.standard_normal((n, 3)) * np.sqrt([1.3, 0.85, 0.85])
    w = np.full(n, 1.0 / n)
    F = -v / np.array([1.3, 0.85, 0.85])
    if backend == "cupy":
        return ctx.cp.asarray(v), ctx.cp.asarray(w), ctx.cp.asarray(F)
    return v, w, F


def section_blob_pairs(ctx: Context) -> list[dict[str, Any]]:
    from fieldflow.landau.particles import landau_velocity

    rows = []
    n_gpu, n_cpu = ctx.size["pairs_gpu"], ctx.size["pairs_cpu"]
    v, w, F = _bimaxwellian_particles(ctx, n_gpu, "cupy")
    landau_velocity(v[:1000], w[:1000], F[:1000], -3.0, 1.0)  # kernels compiled
    (u_gpu, _), gpu_s = ctx.timed(lambda: landau_velocity(v, w, F, -3.0, 1.0), True)
    # the same particles (the first n_cpu of the GPU set) on the host, for the time and the difference
    from fieldflow.core.backend import to_numpy

    vh, wh, Fh = (to_numpy(a[:n_cpu]) for a in (v, w, F))
    (u_cpu, _), cpu_s = ctx.timed(lambda: landau_velocity(vh, wh, Fh, -3.0, 1.0), False)
    sub = landau_velocity(v[:n_cpu], w[:n_cpu], F[:n_cpu], -3.0, 1.0)[0]
    gpu_ns, cpu_ns = 1e9 * gpu_s / n_gpu**2, 1e9 * cpu_s / n_cpu**2
    log(f"  pairs: gpu N={n_gpu} {gpu_ns:.3g} ns/pair, cpu N={n_cpu} {cpu_ns:.3g} ns/pair")
    rows.append(row("Blob-Landau Coulomb pair sum", f"GPU N = {n_gpu}, CPU N = {n_cpu}", gpu_ns, cpu_ns,
                    rel_diff(sub, u_cpu), unit="ns/pair", note=f"GPU {gpu_s:.3g} s, CPU {cpu_s:.3g} s per evaluation"))
    return rows


def section_coulomb_blob(ctx: Context) -> dict[str, Any]:
    """Blob initial relaxation rate at small ε against the grid solver's and the exact rate (3D Coulomb)."""
    import fieldflow as ff
    from fieldflow.landau.bimaxwellian import (anisotropy_rate, blob_rate_factor, grid_anisotropy_rate,
                                               particle_anisotropy_rate)

    T, gamma, C = (1.3, 0.85, 0.85), -3.0, 1.0
    eps, extent = ctx.size["blob_eps"], ctx.size["blob_extent"]
    exact = anisotropy_rate(T, gamma, C)
    grid = ff.Grid.box(ctx.size["grid_n"], extent, dim=3, backend="cupy")
    pde = ff.landau.Landau(grid, gamma, C=C)
    (grid_rate, grid_s) = ctx.timed(lambda: grid_anisotropy_rate(grid, pde.rhs(pde.validate(
        ff.densities.gaussian(grid, 0.0, T)), 0.0)), True)
    mesh = ff.Grid.box(int(math.ceil(2 * extent / eps)), extent, dim=3, backend="cupy")
    blob = ff.landau.BlobLandau(mesh, gamma, C=C, epsilon=eps, drop_tol=1e-5)
    (v, w), setup_s = ctx.timed(lambda: blob.initial_particles(ff.densities.gaussian(mesh, 0.0, T)), True)
    log(f"  blob: ε = {eps}, mesh {mesh.shape[0]}³, N = {v.shape[0]} particles ({setup_s:.3g} s set-up)")
    u, blob_s = ctx.timed(lambda: blob.velocity(v, w), True)
    blob_rate = particle_anisotropy_rate(v, w, u)
    r = blob_rate_factor(T, eps)
    out = {"epsilon": eps, "mesh": mesh.shape[0], "N": int(v.shape[0]), "exact_rate": exact, "grid_n": grid.shape[0],
           "grid_rate": grid_rate, "blob_rate": blob_rate, "r_epsilon": r, "blob_over_grid": blob_rate / grid_rate,
           "blob_over_r_exact": blob_rate / (r * exact), "grid_over_exact": grid_rate / exact,
           "velocity_seconds": blob_s, "grid_rhs_seconds": grid_s, "drop_tol": 1e-5}
    log(f"  blob rate {blob_rate:.6g}, grid {grid_rate:.6g}, exact {exact:.6g}; blob/grid {blob_rate / grid_rate:.4f}, "
        f"blob/(r(ε)·exact) {blob_rate / (r * exact):.4f} ({blob_s:.3g} s per velocity)")
    return out


RUNNERS: dict[str, Callable[[Context], Any]] = {name: globals()[f"section_{name}"] for name in SECTIONS}


# ------------------------------------------------------------------------------------------- output
def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if x == x else "nan"
    return str(x)


def markdown(report: dict[str, Any]) -> str:
    env = report["sections"].get("env", {}).get("result", {})
    lines = ["# GPU validation (`benchmarks/gpu_validate.py`)", ""]
    lines.append(f"Command: `{report['command']}`; started {report['started']}, {report['elapsed']:.0f} s in all."
                 + (" **Dry run: the strict CuPy stand-in on the CPU, small sizes — no GPU figures.**"
                    if report["dry_run"] else ""))
    if env:
        lines.append(f"GPU: {env.get('gpu')} ({env.get('gpu_memory_GiB')} GiB), driver {env.get('driver')}, CUDA runtime "
                     f"{env.get('cuda_runtime')}, CuPy {env.get('cupy')}; NumPy {env.get('numpy')}, SciPy "
                     f"{env.get('scipy')}, Python {env.get('python')}; host: {env.get('host_cores')} cores, FFT "
                     f"{env.get('host_fft')}.")
    tests = report["sections"].get("tests", {})
    if "result" in tests:
        t = tests["result"]
        lines += ["", f"Test suite, `{t['command']}`: **{t['summary']}**"]
        lines += [f"- {f}" for f in t["failed"][:20]]
    lines += ["", "| family | size | GPU | CPU | unit | CPU/GPU | rel. diff GPU vs NumPy | note |",
              "|---|---|---:|---:|---|---:|---:|---|"]
    for name in SECTIONS:
        entry = report["sections"].get(name)
        if entry is None or name in ("env", "tests", "coulomb_blob"):
            if entry is not None and "error" in entry:
                lines.append(f"| {name} | | | | | | | error: {entry['error']} |")
            continue
        if "error" in entry:
            lines.append(f"| {name} | | | | | | | error: {entry['error']} |")
        elif "skipped" in entry:
            lines.append(f"| {name} | | | | | | | skipped: {entry['skipped']} |")
        for r in entry.get("result", []):
            lines.append(f"| {r['family']} | {r['size']} | {_fmt(r['gpu'])} | {_fmt(r['cpu'])} | {r['unit']} | "
                         f"{_fmt(r['speedup'])} | {_fmt(r['rel_diff'], 2)} | {r['note']} |")
    blob = report["sections"].get("coulomb_blob", {})
    if "result" in blob:
        b = blob["result"]
        lines += ["", f"Coulomb bi-Maxwellian T = (1.3, 0.85, 0.85), γ = −3, C = 1: blob ε = {b['epsilon']} "
                  f"(mesh {b['mesh']}³, N = {b['N']}, drop_tol {b['drop_tol']:g}) initial rate d(T_x − T_z)/dt = "
                  f"{b['blob_rate']:.6g}; grid n = {b['grid_n']}: {b['grid_rate']:.6g}; exact {b['exact_rate']:.6g}. "
                  f"Raw blob/grid = **{b['blob_over_grid']:.4f}**, blob/(r(ε)·exact) = {b['blob_over_r_exact']:.4f} "
                  f"(r(ε) = {b['r_epsilon']:.4f}), grid/exact = {b['grid_over_exact']:.4f}; "
                  f"{b['velocity_seconds']:.3g} s per blob velocity evaluation."]
    elif "error" in blob or "skipped" in blob:
        lines += ["", f"Coulomb blob run: {blob.get('error') or 'skipped: ' + blob.get('skipped', '')}"]
    return "\n".join(lines) + "\n"


def write(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    report["elapsed"] = time.perf_counter() - report["_t0"]
    (out / "gpu_validate.json").write_text(json.dumps({k: v for k, v in report.items() if not k.startswith("_")},
                                                      indent=1, default=str) + "\n")
    (out / "gpu_validate.md").write_text(markdown(report))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "gpu"))
    parser.add_argument("--quick", action="store_true", help="half sizes")
    parser.add_argument("--dry-run", action="store_true", help="CPU only, the strict CuPy stand-in, small sizes")
    parser.add_argument("--only", default="", help="comma-separated sections to run")
    parser.add_argument("--skip", default="", help="comma-separated sections to leave out")
    parser.add_argument("--budget", type=float, default=400.0, help="seconds after which remaining sections are skipped")
    parser.add_argument("--tests-timeout", type=float, default=150.0, help="seconds for the pytest subprocess")
    args = parser.parse_args(argv)
    unknown = set(filter(None, args.only.split(",") + args.skip.split(","))) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    sys.path.insert(0, str(ROOT))
    if not args.dry_run:
        return run(args, argv)
    sys.path.insert(0, str(ROOT / "tests"))
    import cupy_strict

    with cupy_strict.installed():
        return run(args, argv)


def run(args: argparse.Namespace, argv: list[str] | None) -> int:
    """The chosen sections in order, each guarded, the report rewritten after each."""
    chosen = [s for s in SECTIONS if (not args.only or s in args.only.split(",")) and s not in args.skip.split(",")]
    out = Path(args.out)
    report: dict[str, Any] = {"command": " ".join(["python", "benchmarks/gpu_validate.py"] + (argv or sys.argv[1:])),
                              "started": time.strftime("%Y-%m-%d %H:%M:%S"), "dry_run": args.dry_run,
                              "quick": args.quick, "sections": {}, "_t0": time.perf_counter()}
    ctx = Context(args)
    for name in chosen:
        used = time.perf_counter() - report["_t0"]
        if used > args.budget:
            report["sections"][name] = {"skipped": f"time budget {args.budget:.0f} s used up ({used:.0f} s)"}
            log(f"{name}: skipped (budget)")
            write(report, out)
            continue
        log(f"{name} ...")
        t0 = time.perf_counter()
        try:
            report["sections"][name] = {"result": RUNNERS[name](ctx)}
        except Exception as exc:  # one failing section must not lose the others
            report["sections"][name] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}",
                                        "traceback": traceback.format_exc()[-3000:]}
            log(f"{name}: ERROR {type(exc).__name__}: {exc}")
        report["sections"][name]["seconds"] = time.perf_counter() - t0
        log(f"{name}: {report['sections'][name]['seconds']:.1f} s")
        write(report, out)
    write(report, out)
    log(f"wrote {out / 'gpu_validate.md'} and {out / 'gpu_validate.json'} ({report['elapsed']:.0f} s)")
    print(markdown(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
