# %% [markdown]
# # `figures/predictions_vs_copies`: N* grows like the log of the number of predictions
#
# The Pauli-prediction task (README, "The number of predictions") with `query_grid = "log"`:
# every trial draws one list of queries with the hidden P first, and the query set of size M is
# its first M entries, so one stream of shots is judged at every M = 1, 2, 3, 5, 9, 17, …
# up to `queries`. Both strategies need N* = a + b ln M copies (a union bound over the M
# queries, docs/theory.md §16); the slope b is the Chernoff rate's inverse, flat in n for
# Bell sampling and ∝ 3^n for shadows (docs/theory.md §16.2).
#
# The committed figure: `copylearn sweep experiments/predictions_vs_copies.toml --out
# figures/predictions_vs_copies` (6 min). Here: many predictions from one dataset, a small
# query-count sweep, the N* = a + b ln M fit, the plot, and the committed store.
# `COPYLEARN_EXAMPLE_QUICK=1`: tiny sizes; `COPYLEARN_EXAMPLE_OUT=DIR`: where it writes.

# %%
import os
import tempfile
from pathlib import Path

import numpy as np

import copylearn as cl
from copylearn.plotting import plot_store
from copylearn.query_fits import summary_lines
from copylearn.sweep import parse_config, run_sweep

QUICK = os.environ.get("COPYLEARN_EXAMPLE_QUICK") == "1"
OUT = Path(os.environ.get("COPYLEARN_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="copylearn-"))
REPO = Path(__file__).resolve().parent.parent if "__file__" in globals() else Path.cwd()

# %% [markdown]
# ## Every prediction from one Bell dataset
#
# Bell sampling estimates tr(Qρ)² for all 4^n Paulis from the same shots (a Walsh–Hadamard
# transform): the largest value besides the identity's is the hidden P.

# %%
state = cl.PauliMixedState("XYZ", alpha=0.9, sign=-1)
bell = cl.collect(state, "bell", copies=200 if QUICK else 2_000, seed=11)
values, stderr = bell.estimate_all_squares()  # shape (4,)*n, I=0, X=1, Y=2, Z=3 per qubit
values[(0,) * values.ndim] = -np.inf  # leave out the identity, tr(I rho)^2 = 1
top = np.unravel_index(int(values.argmax()), values.shape)
label = "".join("IXYZ"[int(i)] for i in top)
print(f"largest tr(Q rho)^2: {values[top]:.3f} +- {stderr[top]:.3f} at Q = {label}")

# %% [markdown]
# ## A small sweep over the number of predictions M
#
# Quick mode sweeps Bell sampling only (each M is a panel of the success-curve figure).

# %%
config = parse_config(
    f"""
[sweep]
task = "pauli-prediction"
seed = 1515
strategies = {["bell"] if QUICK else ["bell", "pauli-shadow"]}
[grid]
n = {[3] if QUICK else [3, 4]}
alpha = 0.9
weight = "full"
queries = {9 if QUICK else 81}
query_grid = "log"
noise = "none"
target = 0.9
trials = {35 if QUICK else 200}
""",
    "predictions_vs_copies (example)",
)
store = OUT / "predictions_vs_copies"
run_sweep(config, store, workers=0, progress=False)

# %% [markdown]
# ## The summary: one row per M, the fit N* = a + b ln M, the figure

# %%
results = cl.load_results(store)
table = results.to_pandas()
print(table[["strategy", "n", "queries", "n_star", "n_star_ci_low", "n_star_ci_high"]].to_string())
for line in summary_lines(results.summary_rows()):
    print(line)
for path in plot_store(store, OUT / "figures"):
    print(path)

# %% [markdown]
# ## The committed figure's store: N* at the largest M per strategy and n

# %%
committed = cl.load_results(REPO / "figures" / "predictions_vs_copies").to_pandas()
print(
    committed.loc[committed.groupby(["strategy", "n"])["queries"].idxmax()][
        ["strategy", "n", "queries", "n_star", "n_star_ci_low", "n_star_ci_high"]
    ]
)
