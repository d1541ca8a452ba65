"""The core: everything that knows no equation.

=====================  ==========================================================================
module                 what
=====================  ==========================================================================
``backend``            array namespaces (NumPy, CuPy) and FFT providers (pyFFTW, SciPy, NumPy, CuPy)
``grids``              cell-centred box and periodic grids
``convolve``           FFT convolutions with a kernel or a Fourier multiplier (periodic, zero-padded)
``finite_volume``      face slices, two-point face fluxes and their sparse operator, the discrete divergence
``validation``         checks of user input (densities, covariances) with messages that say what to change
``problem``            the contract between a problem and ``evolve``: ``PDE``, ``ParticleSystem``, ``StepMap``
``steppers``           explicit, implicit, exponential, particle and step-map steppers in one registry
``linalg``             GMRES(m), stencil matrices and preconditioners in the grid's namespace
``transfer``           device→host reads gathered (a diagnostics sample in one transfer)
``evolve``             the one time loop (grids, particles, step maps)
``checkpoint``         checkpoints of ``evolve``: live state rewritten, history appended
``jko``                one JKO step on quantiles (1D), by Newton's method
``particle_loop``      deprecated call shapes of the former particle loop
``trajectory``         results of a run: snapshots, diagnostics, I/O, rate fits
``sweep``              parameter sweeps over processes or a Dask cluster
``metrics``            distances and moments of densities and samples
``score_matching``     closed-form score fits of weighted samples, sizes chosen by cross-validation
=====================  ==========================================================================

Nothing here imports an equation family (``fieldflow.fokker_planck``, ``fieldflow.svgd``,
``fieldflow.mckean_vlasov``, ``fieldflow.landau``, ``fieldflow.polchinski``); the test
``tests/test_layout.py`` checks it.
"""
