"""Score-based Landau particles: cost of the cross-validated score fit against a fixed fit and a step's other work.

Run:  PYTHONPATH=. python benchmarks/landau_score.py

Prints, for N = 1000 and 6000 particles of BKW in 2D (t = 1) and 3D (t = 6.5): the time of the CV fit
(default candidates, 5 folds), of a fixed fit (64, 1e-3), of a refit with the CV-chosen (M, λ), of one velocity
evaluation (Maxwell kernel, moment-expanded) and of the O(N²) divergence ∇·u the step also needs; the ratio
CV fit / (divergence + two velocities) is the fraction a per-step selection adds to a Heun step.
"""

from __future__ import annotations

import time

import numpy as np

from fieldflow.landau import BKW
from fieldflow.landau import fit_score, landau_velocity


def timed(fn, repeat: int = 5):
    out = fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    print(f"{'dim':>3} {'N':>5} {'CV fit [s]':>10} {'fixed [s]':>9} {'refit [s]':>9} {'velocity [s]':>12} "
          f"{'div [s]':>8} {'CV/step':>7} {'M':>4} {'ridge':>7}")
    for dim, t in ((2, 1.0), (3, 6.5)):
        exact = BKW(dim)
        for n in (1000, 6000):
            v = exact.sample(n, t, seed=0)
            w = np.full(n, 1.0 / n)
            t_cv, model = timed(lambda: fit_score(v, w))
            t_fixed, _ = timed(lambda: fit_score(v, w, n_centres=64, ridge=1e-3))
            t_refit, _ = timed(lambda: fit_score(v, w, n_centres=model.n_centres, ridge=model.ridge))
            s = model(v)
            t_vel, _ = timed(lambda: landau_velocity(v, w, s, 0.0, exact.C))
            t_div, _ = timed(lambda: landau_velocity(v, w, s, 0.0, exact.C, hessian=model.hessian(v)), 2)
            print(f"{dim:>3} {n:>5} {t_cv:>10.3f} {t_fixed:>9.3f} {t_refit:>9.3f} {t_vel:>12.4f} {t_div:>8.3f} "
                  f"{t_cv / (t_div + 2 * t_vel):>7.2f} {model.n_centres:>4} {model.ridge:>7.0e}")


if __name__ == "__main__":
    main()
