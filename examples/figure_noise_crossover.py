# %% [markdown]
# # `figures/noise_crossover`: where the two-copy advantage dies under noise
#
# The Pauli-prediction task (README, "Sample complexity") under storage noise: every qubit of
# every copy is depolarized once between preparation and measurement, with per-qubit Pauli
# fidelity f. Bell sampling sees tr(Qρ)² damped by f^{2|Q|}, shadows see tr(Qρ) damped by
# f^{|Q|} (docs/theory.md §8.2), so the fitted base of N* versus n grows like f^{-4} for Bell
# and 3·f^{-2} for shadows: the bases cross at f = 1/√3 (docs/theory.md §8.4). Both learners
# use the noise-calibrated rule: the damping is measured on known eigenstates
# (`calibration_copies`) and divided out.
#
# The committed figure: `copylearn sweep experiments/noise_crossover.toml --out
# figures/noise_crossover` (22 min). Here: one noisy state, a small sweep with two noise levels,
# its table, fits, the crossover map, and the committed store as a data frame.
# `COPYLEARN_EXAMPLE_QUICK=1`: tiny sizes; `COPYLEARN_EXAMPLE_OUT=DIR`: where it writes.

# %%
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
# ## One noisy state: raw and calibrated estimates
#
# `state_depolarizing:0.15` gives f = 1 − 4·0.15/3 = 0.8 per qubit; tr(XYZρ)² = 0.81 reads
# about 0.81·0.8^6 = 0.21 raw. The calibration copies measure the damping and
# `calibrated=True` divides it out.

# %%
state = cl.PauliMixedState("XYZ", alpha=0.9, sign=-1)
copies = 2_000 if QUICK else 100_000
noise = "state_depolarizing:0.15"
bell = cl.collect(state, "bell", copies, noise=noise, calibration_copies=copies // 4, seed=3)
shadow = cl.collect(
    state, "pauli-shadow", copies, noise=noise, calibration_copies=copies // 4, seed=3
)
print(bell.estimate_square(["XYZ"]).to_pandas())
print(bell.estimate_square(["XYZ"], calibrated=True).to_pandas())
print(shadow.estimate(["XYZ"], calibrated=True).to_pandas())

# %% [markdown]
# ## A small sweep over n and the noise level

# %%
config = parse_config(
    f"""
[sweep]
task = "pauli-prediction"
seed = 2026
strategies = ["bell", "pauli-shadow"]
[grid]
n = {[1, 2] if QUICK else [1, 2, 3]}
alpha = 0.9
weight = "full"
queries = 3
noise = ["none", "state_depolarizing:0.15"{"" if QUICK else ', "state_depolarizing:0.3"'}]
calibration_copies = {2_000 if QUICK else 20_000}
target = 0.9
trials = {35 if QUICK else 100}
max_copies = 1_000_000
""",
    "noise_crossover (example)",
)
store = OUT / "noise_crossover"
run_sweep(config, store, workers=0, progress=False)

# %% [markdown]
# ## The summary and the figures (`crossover.png`: log10 of the N* ratio over f and n)

# %%
results = cl.load_results(store)
table = results.to_pandas()
print(table[["strategy", "n", "noise", "n_star", "n_star_ci_low", "n_star_ci_high"]].to_string())
for fit in fit_groups(results.summary_rows()):
    if fit["base"] is None:  # too few points for a fit
        continue
    noise_level = fit["group"].get("noise")
    print(f"{fit['strategy']} noise={noise_level}: fitted base b = {fit['base']:.3g}")
for path in plot_store(store, OUT / "figures"):
    print(path)

# %% [markdown]
# ## The committed figure's store: N* per strategy and noise level at n = 4

# %%
committed = cl.load_results(REPO / "figures" / "noise_crossover").to_pandas()
print(committed[committed["n"] == 4].pivot(index="noise", columns="strategy", values="n_star"))
