"""The core: everything that knows no equation.

=====================  ==========================================================================
module                 what
=====================  ==========================================================================
``backend``            array namespaces (NumPy, CuPy) and FFT providers (pyFFTW, SciPy, NumPy, CuPy)
``grids``              cell-centred box and periodic grids
``convolve``           FFT convolutions with a kernel or a Fourier multiplier (periodic, zero-padded)
``finite_volume``      face slices, the discrete divergence, wall checks
``problem``            :class:`~fieldflow.core.problem.PDE`, the contract between an equation and ``evolve``
``steppers``           explicit, implicit, exponential steppers in one registry
``linalg``             GMRES(m), stencil matrices and preconditioners in the grid's namespace
``transfer``           device→host reads gathered (a diagnostics sample in one transfer)
``evolve``             the one time loop
``particle_loop``      the time loop of particle methods
``trajectory``         results of a run: snapshots, diagnostics, I/O, rate fits
``sweep``              parameter sweeps over processes or a Dask cluster
``metrics``            distances and moments of densities and samples
=====================  ==========================================================================

Nothing here imports an equation family (``fieldflow.fokker_planck``, ``fieldflow.svgd``,
``fieldflow.mckean_vlasov``, ``fieldflow.landau``, ``fieldflow.polchinski``); the test
``tests/test_layout.py`` checks it.
"""
