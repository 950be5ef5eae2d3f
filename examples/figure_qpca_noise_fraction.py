# %% [markdown]
# # `figures/qpca_noise_fraction`: copies needed versus the noise weight λ
#
# The `principal-component` task (docs/theory.md §19) at fixed n = 3: ρ = (1−λ)|ψ⟩⟨ψ| + λ I/2^n,
# two-copy Bell sampling with the self-normalised ratio rule (hot iff R̂_Q > 1/2, which needs
# no knowledge of λ). λ (`noise_fraction`) is a task parameter, so a sweep takes a list of
# values like any grid key, and `copylearn plot` draws N* versus λ (`noise_fraction.png`)
# with the theory shape ∝ 1/tr(ρ²)² of §19.5.
#
# The committed figure: `copylearn sweep experiments/qpca_noise_fraction.toml --out
# figures/qpca_noise_fraction` (17 min). Here: a small λ sweep, its plot and the committed
# store as a data frame. `COPYLEARN_EXAMPLE_QUICK=1`: tiny sizes; `COPYLEARN_EXAMPLE_OUT=DIR`:
# where it writes.

# %%
import os
import tempfile
from pathlib import Path

import copylearn as cl
from copylearn.plotting import plot_store
from copylearn.sweep import parse_config, run_sweep

QUICK = os.environ.get("COPYLEARN_EXAMPLE_QUICK") == "1"
OUT = Path(os.environ.get("COPYLEARN_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="copylearn-"))
REPO = Path(__file__).resolve().parent.parent if "__file__" in globals() else Path.cwd()

# %% [markdown]
# ## A small sweep over λ

# %%
config = parse_config(
    f"""
[sweep]
task = "principal-component"
seed = 1915
strategies = ["bell"]
[grid]
n = 3
noise_fraction = {[0.0, 0.3] if QUICK else [0.0, 0.1, 0.2, 0.3, 0.4]}
noise = "none"
target = {0.6 if QUICK else 0.9}
trials = {20 if QUICK else 100}
max_copies = {256 if QUICK else 4096}
""",
    "qpca_noise_fraction (example)",
)
store = OUT / "qpca_noise_fraction"
run_sweep(config, store, workers=0, progress=False)
table = cl.load_results(store).to_pandas()
print(table[["noise_fraction", "n_star", "n_star_ci_low", "n_star_ci_high"]].to_string())
for path in plot_store(store, OUT / "figures"):
    print(path)

# %% [markdown]
# ## The committed figure's store: N* grows as 1/tr(ρ²)² with λ

# %%
committed = cl.load_results(REPO / "figures" / "qpca_noise_fraction").to_pandas()
print(committed[["noise_fraction", "n_star", "n_star_ci_low", "n_star_ci_high"]].to_string())
