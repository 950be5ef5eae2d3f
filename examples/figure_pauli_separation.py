# %% [markdown]
# # `figures/pauli_separation`: copies needed with and without quantum memory
#
# The Pauli-prediction task (README, "Sample complexity"; docs/theory.md §5–§7): the unknown
# state is ρ = (I + α·s·P)/2^n with a hidden full-weight Pauli P and sign s; the learner sees a
# query set of M = 3 Paulis holding P and must name P. Two-copy Bell sampling needs a number of
# copies N* that does not grow with n; random-Pauli classical shadows need N* ∝ 3^n.
#
# This notebook walks the Python-API route from one state to the figure: the state and its
# estimates, a small sweep, its table, fits and plot, then the committed store behind
# `figures/pauli_separation` as a data frame. The figure itself was made by
# `copylearn sweep experiments/pauli_separation.toml --out figures/pauli_separation` (hours);
# the sweep here is small. Run it as `python examples/figure_pauli_separation.py`
# (`COPYLEARN_EXAMPLE_QUICK=1`: tiny sizes; `COPYLEARN_EXAMPLE_OUT=DIR`: where it writes,
# default a fresh temporary directory).

# %%
import os
import tempfile
from pathlib import Path

import numpy as np

import copylearn as cl
from copylearn.fits import fit_groups
from copylearn.plotting import plot_store
from copylearn.states import pauli_matrix
from copylearn.sweep import parse_config, run_sweep

QUICK = os.environ.get("COPYLEARN_EXAMPLE_QUICK") == "1"
OUT = Path(os.environ.get("COPYLEARN_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="copylearn-"))
REPO = Path(__file__).resolve().parent.parent if "__file__" in globals() else Path.cwd()

# %% [markdown]
# ## One state, both protocols
#
# A single instance of the task: P = XYZ, α = 0.9, s = −1. Bell sampling estimates tr(Qρ)²
# for every Q from the same shots; shadows estimate the signed tr(Qρ). The exact values come
# from the state's density matrix.

# %%
state = cl.PauliMixedState("XYZ", alpha=0.9, sign=-1)
queries = ["XYZ", "ZZX", "YXX"]  # P and two others, as in the task
copies = 400 if QUICK else 20_000
bell = cl.collect(state, protocol="bell", copies=copies, seed=7)
shadow = cl.collect(state, protocol="pauli-shadow", copies=copies, seed=7)
print(bell.estimate_square(queries).to_pandas())
print(shadow.estimate(queries).to_pandas())
rho = state.density_matrix()
print("exact tr(Q rho):", [round(float(np.trace(pauli_matrix(q) @ rho).real), 3) for q in queries])

# %% [markdown]
# ## A small sweep: N* versus n
#
# The same task as the committed config, at small n and with fewer trials (so wider CIs).
# `run_sweep` appends one row per grid point to `DIR/results.jsonl`; `workers=0` runs in
# this process.

# %%
config = parse_config(
    f"""
[sweep]
task = "pauli-prediction"
seed = 2022
strategies = ["bell", "pauli-shadow"]
[grid]
n = {[1, 2] if QUICK else [1, 2, 3, 4, 6, 8]}
alpha = 0.9
weight = "full"
queries = 3
noise = "none"
target = 0.9
trials = {35 if QUICK else 200}
[strategy.pauli-shadow]
n = {[1, 2] if QUICK else [1, 2, 3, 4]}
""",
    "pauli_separation (example)",
)
store = OUT / "pauli_separation"
run_sweep(config, store, workers=0, progress=False)

# %% [markdown]
# ## The summary: a table, fitted bases, the figure
#
# `load_results` returns the store's typed records; `.to_pandas()` gives the same numbers
# as `copylearn summary DIR` (and `copylearn summary DIR --csv`).

# %%
results = cl.load_results(store)
table = results.to_pandas()
print(table[["strategy", "n", "n_star", "n_star_ci_low", "n_star_ci_high", "seconds"]].to_string())
for fit in fit_groups(results.summary_rows()):
    if fit["base"] is None:  # too few points for a fit
        continue
    print(f"{fit['strategy']}: fitted base b = {fit['base']:.3g}, CI {fit['base_ci']}")
for path in plot_store(store, OUT / "figures"):
    print(path)

# %% [markdown]
# ## The committed figure's store
#
# `figures/pauli_separation/results.jsonl`, read the same way: Bell flat to n = 40, shadows
# growing like 3^n to n = 10, Clifford shadows like 2^n to n = 8.

# %%
committed = cl.load_results(REPO / "figures" / "pauli_separation").to_pandas()
print(committed.groupby("strategy")[["n", "n_star"]].agg(["min", "max"]))
