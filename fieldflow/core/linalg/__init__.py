"""Linear algebra written against the array namespace: a Krylov solver, stencil matrices, preconditioners.

=====================  ==========================================================================
module                 what
=====================  ==========================================================================
``krylov``             restarted, right-preconditioned GMRES(m) and preconditioned CG (same iteration on
                       NumPy and CuPy)
``multigrid``          geometric multigrid V-cycles (Galerkin coarse operators) for stencil matrices
``lanczos``            ``exp(τA) b`` for symmetric negative semi-definite ``A`` (Lanczos, one or two passes)
``chebyshev``          ``exp(τA) b`` by the Chebyshev expansion (a-priori degree, one pass, three vectors)
``generators``         ``1ᵀL = 0`` and mass restoration; the symmetrised ``Π^{-1/2} L Π^{1/2}`` of a reversible ``L``
``stencil``            sparse matrices of nearest-neighbour stencils, assembled in the grid's namespace
``preconditioners``    approximate inverses of stencil matrices: host LU, Jacobi, Jacobi-scaled DCT, multigrid
=====================  ==========================================================================

Everything here takes and returns arrays of the caller's namespace; the only host traffic is the
small per-step reads of GMRES and CG (a few numbers per iteration, see :mod:`fieldflow.core.linalg.krylov`),
one read per multigrid set-up, and the ``"lu"``/``"ilu"`` preconditioners, which exist on the host only.
"""

from .generators import SYMMETRISABLE_RANGE, conserves_mass, restore_mass, symmetrise
from .krylov import KrylovResult, as_operator, cg, gmres
from .lanczos import ExponentialResult, expm_multiply_symmetric
from .multigrid import Multigrid, VCycle
from .preconditioners import PRECONDITIONERS, approximate_inverse, preconditioning, resolve_method
from .stencil import shifted, sparse_modules, stencil_matrix

__all__ = ["gmres", "cg", "expm_multiply_symmetric", "ExponentialResult", "symmetrise", "SYMMETRISABLE_RANGE", "conserves_mass", "restore_mass", "Multigrid", "VCycle", "KrylovResult", "as_operator", "approximate_inverse", "preconditioning", "resolve_method", "PRECONDITIONERS",
           "stencil_matrix", "shifted", "sparse_modules"]
