# %% [markdown]
# # `figures/weber_separation`: the separation on a simulated Sycamore processor
#
# The Pauli-prediction task (README, "Sample complexity") with every circuit compiled to
# Google's `weber` device: copy A on a chain of physical qubits, each Bell pair (A_i, B_i) on a
# coupler, Sycamore gates, and cirq-google's calibrated noise model (README, "Simulated Google
# devices"; needs `pip install 'copylearn[devices]'`). Both learners divide out the damping
# measured on known eigenstates (`calibration_copies`, docs/theory.md §9).
#
# The committed figure: `copylearn sweep experiments/weber_separation.toml --out
# figures/weber_separation` (44 min). Here: one state on weber, a small sweep, its table, fits
# and plot, and the committed store as a data frame.
# `COPYLEARN_EXAMPLE_QUICK=1`: tiny sizes; `COPYLEARN_EXAMPLE_OUT=DIR`: where it writes.

# %%
# requires: cirq_google
import os
import tempfile
from pathlib import Path

import copylearn as cl
from copylearn.fits import fit_groups
from copylearn.plotting import plot_store
from copylearn.sweep import parse_config, run_sweep

QUICK = os.environ.get("COPYLEARN_EXAMPLE_QUICK") == "1"
OUT = Path(os.environ.get("COPYLEARN_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="copylearn-"))
REPO = Path(__file__).resolve().parent.parent if "__file__" in globals() else Path.cwd()

# %% [markdown]
# ## One state on weber: raw and calibrated
#
# tr(XYZρ)² = 0.81 for α = 0.9; device noise damps it, the calibration divides the damping out.

# %%
state = cl.PauliMixedState("XYZ", alpha=0.9, sign=-1)
copies = 2_000 if QUICK else 200_000
bell = cl.collect(state, "bell", copies, device="weber", calibration_copies=copies // 4, seed=5)
print(bell.estimate_square(["XYZ"]).to_pandas())
print(bell.estimate_square(["XYZ"], calibrated=True).to_pandas())

# %% [markdown]
# ## A small sweep on the device

# %%
config = parse_config(
    f"""
[sweep]
task = "pauli-prediction"
seed = 2022
strategies = ["bell", "pauli-shadow"]
[grid]
n = {[1, 2] if QUICK else [1, 2, 3, 4, 6]}
alpha = 0.9
weight = "full"
queries = 3
device = "weber"
calibration_copies = {2_000 if QUICK else 20_000}
target = 0.9
trials = {35 if QUICK else 100}
[strategy.pauli-shadow]
n = {[1, 2] if QUICK else [1, 2, 3, 4]}
""",
    "weber_separation (example)",
)
store = OUT / "weber_separation"
run_sweep(config, store, workers=0, progress=False)

# %% [markdown]
# ## The summary and the figure

# %%
results = cl.load_results(store)
table = results.to_pandas()
print(table[["strategy", "n", "device", "n_star", "n_star_ci_low", "n_star_ci_high"]].to_string())
for fit in fit_groups(results.summary_rows()):
    if fit["base"] is None:  # too few points for a fit
        continue
    print(f"{fit['strategy']}: fitted base b = {fit['base']:.3g}")
for path in plot_store(store, OUT / "figures"):
    print(path)

# %% [markdown]
# ## The committed figure's store: Bell to n = 20 (40 qubits), shadows to n = 10

# %%
committed = cl.load_results(REPO / "figures" / "weber_separation").to_pandas()
print(committed.groupby("strategy")[["n", "n_star", "seconds"]].max())
