# %% [markdown]
# # `figures/memory_tradeoff_small`: the kink of min{2^n/α², 2^(n−k)/α⁴} at α = 0.3
#
# Copies needed versus k, the qubits of quantum memory of `partial-bell` (docs/theory.md
# §20), at a small bias α = 0.3 and n = 6: the memory learner needs about
# 13 (2^(n−k) + 1)/α⁴ copies, the single-copy random-Clifford shadow learner about
# 9 (2^n + 1)/α², so memory helps only once 2^k exceeds about 1.44/α² = 16 — the kink lies
# inside 0..n here, unlike at α = 0.9 (`figures/memory_tradeoff`).
#
# The committed figure: `copylearn sweep experiments/memory_tradeoff_small.toml --out
# figures/memory_tradeoff_small` (k = 3..6 and the single-copy level, 100 trials a point).
# Here: a small sweep over k, its figure and fit, and the committed store.
# `COPYLEARN_EXAMPLE_QUICK=1`: tiny sizes; `COPYLEARN_EXAMPLE_OUT=DIR`: where it writes.

# %%
import os
import tempfile
from pathlib import Path

import copylearn as cl
from copylearn.memory_tradeoff import summary_lines
from copylearn.plotting import plot_store
from copylearn.sweep import parse_config, run_sweep

QUICK = os.environ.get("COPYLEARN_EXAMPLE_QUICK") == "1"
OUT = Path(os.environ.get("COPYLEARN_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="copylearn-"))
REPO = Path(__file__).resolve().parent.parent if "__file__" in globals() else Path.cwd()

# %% [markdown]
# ## A small sweep over k (quick: n = 3, α = 0.7, k = 1..3)

# %%
config = parse_config(
    f"""
[sweep]
task = "pauli-prediction"
seed = 2405
strategies = ["partial-bell", "clifford-shadow"]
[grid]
n = {3 if QUICK else 6}
alpha = {0.7 if QUICK else 0.3}
queries = 1
target = {0.6 if QUICK else 0.9}
trials = {20 if QUICK else 100}
max_copies = 400000
backend = "auto"
[strategy.partial-bell]
memory_qubits = {[1, 2, 3] if QUICK else [2, 3, 4, 5, 6]}
""",
    "memory_tradeoff_small (example)",
)
store = OUT / "memory_tradeoff_small"
rows = run_sweep(config, store, workers=0, progress=False)
print("\n".join(summary_lines(rows)))
for path in plot_store(store, OUT / "figures"):
    print(path)

# %% [markdown]
# ## The committed figure's store: above the single-copy level at small k, below it at large k

# %%
committed = cl.load_results(REPO / "figures" / "memory_tradeoff_small").to_pandas()
print(committed[["strategy", "memory_qubits", "n_star", "n_star_ci_low", "n_star_ci_high"]])
