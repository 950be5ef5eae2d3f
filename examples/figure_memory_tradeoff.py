# %% [markdown]
# # Copies needed versus qubits of quantum memory (`figures/memory_tradeoff`)
#
# The Python-API route from a state to the figure: collect `partial-bell` data (k qubit pairs
# Bell-measured, the other n - k qubits of both copies after one shared random Clifford),
# check its estimator against the exact tr(Q rho)^2, then sweep k and draw copies needed
# versus k with the single-copy Clifford level and the theory curve (docs/theory.md §20).
#
# `COPYLEARN_EXAMPLE_QUICK=1` uses small sizes (n = 4, few trials); everything is written
# under `COPYLEARN_EXAMPLE_OUT` (default: a fresh temporary directory). The committed figure
# is `copylearn sweep experiments/memory_tradeoff.toml --out figures/memory_tradeoff` (n = 8).

# %%
import os
import tempfile
from pathlib import Path

import numpy as np

import copylearn as cl
from copylearn.plotting import plot_store
from copylearn.sweep import parse_config, run_sweep

QUICK = os.environ.get("COPYLEARN_EXAMPLE_QUICK") == "1"
OUT = Path(os.environ.get("COPYLEARN_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="memory_"))
OUT.mkdir(parents=True, exist_ok=True)
N = 4 if QUICK else 8

# %% [markdown]
# ## One state, every k: estimates against the exact value
# rho = (I + 0.9 (-1) P)/2^n; tr(P rho)^2 = 0.81. The standard error grows as
# sqrt(2^(n-k) + 1): each stored qubit halves the variance.

# %%
pauli = "XYZX" if QUICK else "XYZXYZXY"
state = cl.PauliMixedState(pauli, alpha=0.9, sign=-1)
for k in range(N + 1):
    data = cl.collect(
        state,
        "partial-bell",
        copies=1000 if QUICK else 20_000,
        seed=k,
        backend="auto",
        options={"memory_qubits": k},
    )
    value, stderr = data.estimate_square([pauli])[pauli]
    print(f"k = {k}: tr(P rho)^2 = {value:.3f} ± {stderr:.3f} (exact 0.810)")

# %% [markdown]
# ## The sweep: N* versus k at fixed n, and the single-copy level

# %%
ks = [N - 1, N] if QUICK else list(range(N + 1))
config = parse_config(
    f"""
[sweep]
task = "pauli-prediction"
seed = 2404
strategies = ["partial-bell", "clifford-shadow"]
[grid]
n = {N}
alpha = 0.9
queries = 1
trials = {36 if QUICK else 100}
max_copies = 200000
backend = "auto"
[strategy.partial-bell]
memory_qubits = {ks}
{"[strategy.clifford-shadow]" if QUICK else ""}
{"n = 1" if QUICK else ""}
"""
)
store = OUT / "memory_tradeoff"
rows = run_sweep(config, store, workers=0, progress=False)
print(f"{len(rows)} points in {store}")

# %%
paths = plot_store(store, OUT / "figures")
print("\n".join(str(p) for p in paths))
print(np.round([r["n_star"] for r in rows], 1))

# %% [markdown]
# ## The committed figure's store: N* versus k at n = 8, alpha = 0.9

# %%
REPO = Path(__file__).resolve().parent.parent if "__file__" in globals() else Path.cwd()
committed = cl.load_results(REPO / "figures" / "memory_tradeoff").to_pandas()
print(committed[["strategy", "memory_qubits", "n_star", "n_star_ci_low", "n_star_ci_high"]])
