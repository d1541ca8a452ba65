"""A new particle method for fieldflow, in full: consensus dynamics, run by the one time loop.

Every particle is drawn to the weighted mean of all of them at rate ``k``,

    dX_i/dt = −k (X_i − X̄),    X̄ = Σ_j w_j X_j / Σ_j w_j,

so the mean is conserved and each particle relaxes to it exactly: ``X_i(t) = X̄ + (X_i(0) − X̄) e^{−kt}``.
"""

import numpy as np

import fieldflow as ff


class Consensus(ff.ParticleSystem):
    """Particles drawn to their weighted mean at rate ``k`` (deterministic: no ``diffusion``)."""

    conserved = ("mass", "mean_0", "mean_1")  # evolve checks them at every save time

    def __init__(self, k: float):
        if not k > 0:
            raise ValueError(f"the rate k must be positive, got {k!r}")
        self.k = float(k)

    def drift(self, state, t):
        w = state.weights
        mean = (w @ state.x) / w.sum()
        return -self.k * (state.x - mean)

    def describe(self):
        return {"problem": "Consensus", "k": self.k}


x0 = np.random.default_rng(0).normal(size=(500, 2))
weights = np.random.default_rng(1).uniform(0.5, 1.5, 500)
mean = (weights @ x0) / weights.sum()
exact = mean + (x0 - mean) * np.exp(-2.0)          # at t = 1 for k = 2

errors = {}
for dt in (0.05, 0.025):
    traj = ff.evolve(Consensus(k=2.0), ff.Particles(x0, weights), t_end=1.0, dt=dt, method="heun", save_every=0.25)
    errors[dt] = np.abs(traj.final - exact).max()

print(traj.info["status"], traj.times)             # done [0.   0.25 0.5  0.75 1.  ]
print(traj["mean_0"] - mean[0])                    # conserved to round-off
print(errors[0.05] / errors[0.025])                # ≈ 4: Heun is second order
