#!/usr/bin/env bash
# Build the peer environment for benchmarks/fokker_planck_peers.py: fplanck and py-pde (with numba) from the
# package index, plus what fieldflow itself needs (fieldflow is imported from the checkout, never installed).
#
#   bash benchmarks/peers/setup.sh [VENV]        # default VENV: .venv-peers at the repository root
#
# fplanck 1.x needs Python >= 3.12: the script takes $PEERS_PYTHON, else the first of python3.13,
# python3.12 found on PATH (or through pyenv).  Then run the peer table with
#
#   PYTHONPATH=. VENV/bin/python -W ignore benchmarks/fokker_planck_peers.py
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${1:-$root/.venv-peers}"

find_python() {
    if [ -n "${PEERS_PYTHON:-}" ]; then echo "$PEERS_PYTHON"; return; fi
    for v in 3.12 3.13; do
        if command -v "python$v" >/dev/null 2>&1 && "python$v" -c 'import sys' >/dev/null 2>&1; then
            command -v "python$v"; return
        fi
        if command -v pyenv >/dev/null 2>&1; then
            for full in $(pyenv versions --bare 2>/dev/null | grep "^$v" || true); do
                candidate="$(pyenv root)/versions/$full/bin/python$v"
                if [ -x "$candidate" ]; then echo "$candidate"; return; fi
            done
        fi
    done
    echo "no Python >= 3.12 found (fplanck 1.x needs it); set PEERS_PYTHON=/path/to/python3.12" >&2
    exit 1
}

python="$(find_python)"
echo "peer environment: $venv (from $python, $("$python" --version 2>&1))"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
# fieldflow's own dependencies (pyproject.toml) and the peers; numba is py-pde's compiled backend
"$venv/bin/python" -m pip install --quiet numpy scipy matplotlib tqdm pyfftw fplanck py-pde numba
"$venv/bin/python" - <<'PY'
import importlib.metadata as md
import sys
print("Python", sys.version.split()[0])
for name in ("numpy", "scipy", "fplanck", "py-pde", "numba", "pyfftw"):
    print(f"  {name} {md.version(name)}")
PY
