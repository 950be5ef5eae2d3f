"""Measured sample complexity: the number of copies N* a strategy needs to succeed.

For one grid point (task, strategy, n, alpha, noise, ...) :func:`run_point` estimates
N*(target) = min{N : P_succ(N) >= target} honestly (docs/theory.md §6):

* every trial draws a fresh instance (hidden P, sign, queries) and its own stream of shots;
* each stream is evaluated on nested prefixes (common random numbers) at every point of a
  ~5% logarithmic grid of copy counts, so the success curve is smooth and each shot is
  simulated once;
* the stream grows by doubling: after each doubling the success rate at the newest grid
  point is checked, and growth stops once its Wilson 95% lower bound reaches the target.
  Every grid point below is already evaluated, so no separate bisection is needed;
* N* is the crossing of the success curve with the target (the last up-crossing, linearly
  interpolated in log N between grid points); its 95% interval is a percentile bootstrap
  over trials (1000 resamples); N* at target 2/3 is reported too.

With ``device`` the circuits run placed, compiled and noisy on a simulated Google
processor. With ``calibration_copies > 0`` the point first measures the protocol's damping
on known eigenstates (:mod:`copylearn.calibration`, seeded from the point) and the learner
divides it out before applying the task's decision rule: the noise-calibrated rule. The
calibration's copies are reported separately (``calibration``), not counted in N*: like a
robust-shadow calibration, they depend on the device, not on the unknown state.

Copies count copies of rho consumed; a Bell experiment consumes two.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from copylearn import calibration
from copylearn.collect import circuit_key, prepare_collector
from copylearn.errors import CopylearnError
from copylearn.protocols import get_protocol
from copylearn.records import PointResult
from copylearn.seeding import substream
from copylearn.streams import DEFAULT_STREAM
from copylearn.sweep import protocol_options, spec_value
from copylearn.tasks import get_task
from copylearn.trial_workers import TrialWorkers, can_fork, shares

GRID_RATIO = 1.05
BOOTSTRAP_RESAMPLES = 1000
WILSON_Z = 1.959963984540054
# Rows of per-shot parameters simulated at once (bounds memory whatever N and trials are).
_BATCH_ROWS = 1 << 19
#: Shots of one doubling stage (all trials together) from which a point with ``workers > 1``
#: forks its trial helpers: below this (a few seconds of work) forking costs more than it saves.
PARALLEL_SHOTS = 1 << 24
#: Seconds of the last doubling stage from which the next one (about twice as long) forks the
#: trial helpers, whatever its shot count: shots that cost milliseconds each (a random
#: Clifford on a state vector) reach minutes long before 2^24 shots.
PARALLEL_SECONDS = 2.0
#: Bytes of prepared states the per-instance collectors of one point keep at most.
_INSTANCE_CACHE_BYTES = 1 << 30


def copy_grid(copies_per_shot: int, max_copies: int, ratio: float = GRID_RATIO) -> np.ndarray:
    """Copy counts ``copies_per_shot * k`` on a logarithmic grid of step ``ratio``."""
    shots, value = [1], 1.0
    while shots[-1] * copies_per_shot < max_copies:
        value = max(value * ratio, shots[-1] + 1)
        shots.append(math.ceil(value - 1e-9))
    return np.array(shots, dtype=np.int64) * copies_per_shot


def wilson_interval(successes: np.ndarray, trials: int, z: float = WILSON_Z) -> np.ndarray:
    """Wilson score interval of a binomial proportion: ``(..., 2)`` array of (low, high)."""
    p = np.asarray(successes, dtype=np.float64) / trials
    denominator = 1 + z**2 / trials
    centre = (p + z**2 / (2 * trials)) / denominator
    half = z * np.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / denominator
    return np.stack([centre - half, centre + half], axis=-1)


def crossing(rates: np.ndarray, copies: np.ndarray, target: float) -> float | None:
    """Copies at which the success curve last crosses ``target`` upwards.

    Linear interpolation in log N between the last grid point below the target and the next
    one. ``copies[0]`` if the curve never falls below; ``None`` if it ends below.
    """
    below = np.flatnonzero(rates < target)
    if below.size == 0:
        return float(copies[0])
    g = below[-1]
    if g == len(rates) - 1:
        return None
    frac = (target - rates[g]) / (rates[g + 1] - rates[g])
    return float(np.exp(np.log(copies[g]) + frac * (np.log(copies[g + 1]) - np.log(copies[g]))))


def _bootstrap(
    success: np.ndarray, copies: np.ndarray, target: float, rng: np.random.Generator
) -> list[float | None] | None:
    trials = success.shape[0]
    weights = rng.multinomial(trials, np.full(trials, 1.0 / trials), size=BOOTSTRAP_RESAMPLES)
    rates = weights @ success.astype(np.float64) / trials
    values = [crossing(r, copies, target) for r in rates]
    finite = np.array([v for v in values if v is not None])
    if finite.size == 0:
        return None
    censored = len(values) - finite.size
    # Censored resamples (curve still below target) count as +infinity.
    ordered = np.sort(np.concatenate([finite, np.full(censored, np.inf)]))
    lo, hi = np.quantile(ordered, [0.025, 0.975], method="inverted_cdf")
    return [float(lo), None if np.isinf(hi) else float(hi)]


def _trial_batches(trials: int, shots: int) -> list[range]:
    per_batch = max(1, _BATCH_ROWS // max(1, shots))
    return [range(start, min(trials, start + per_batch)) for start in range(0, trials, per_batch)]


def _bound_cache(collectors: dict[tuple, Any]) -> None:
    """Forget the oldest per-instance collectors once their prepared states (up to 8 bytes
    per amplitude of each register) would exceed :data:`_INSTANCE_CACHE_BYTES`; a forgotten
    one is planned and simulated again if its trial needs more shots (same outcomes)."""
    sizes = [8 * 2 ** len(c.plan.circuit.all_qubits()) for c in collectors.values()]
    while len(collectors) > 1 and sum(sizes) > _INSTANCE_CACHE_BYTES:
        del collectors[next(iter(collectors))]
        sizes.pop(0)


def _sample_batch(
    collector,
    collectors: dict[tuple, Any],
    collector_for: Callable,
    states: list,
    shots: int,
    roots: list[np.random.SeedSequence],
    backend_seed: np.random.SeedSequence,
) -> list[dict[str, np.ndarray]]:
    """Sample a batch of trials: in one run when every state is of the circuit family.

    A task whose instances have their own circuits (e.g. a fresh Haar-random state per
    trial) gets a collector per distinct circuit (planned once, cached for the point);
    group g of a batch, the trials sharing circuit ``g``, draws its backend randomness from
    ``substream(backend_seed, first trial of the group in the batch)``.
    """
    keys = [circuit_key(state) for state in states]
    if all(key == collector.key for key in keys):
        arrays, _ = collector.sample_many(states, shots, roots, backend_seed)
        return arrays
    out: list[dict[str, np.ndarray] | None] = [None] * len(states)
    for first, key in enumerate(keys):
        if any(keys[i] == key for i in range(first)):
            continue
        members = [i for i in range(first, len(states)) if keys[i] == key]
        if key == collector.key:
            chosen = collector
        else:
            if key not in collectors:
                collectors[key] = collector_for(states[first])
                _bound_cache(collectors)
            chosen = collectors[key]
        arrays, _ = chosen.sample_many(
            [states[i] for i in members],
            shots,
            [roots[i] for i in members],
            substream(backend_seed, first),
        )
        for i, a in zip(members, arrays, strict=True):
            out[i] = a
    return out  # type: ignore[return-value]


def run_point(
    spec: dict[str, Any],
    seed: np.random.SeedSequence,
    progress: Callable[[str], None] | None = None,
    *,
    stream: int = DEFAULT_STREAM,
    workers: int | Callable[[], int] = 1,
) -> dict[str, Any]:
    """Estimate the copies needed at one grid point.

    Parameters
    ----------
    spec : dict
        Canonical grid-point spec: task, strategy, n, alpha, weight, queries, noise, target,
        trials, max_copies, and optionally device, noise_scale and calibration_copies.
    seed : numpy.random.SeedSequence
        The point's seed (derived from its id by the sweep).
    progress : callable, optional
        Called with a short message after the calibration, after each batch of trials (when
        a doubling stage needs several) and after each doubling stage.
    stream : {1, 2}
        The random-stream version of every collection (:mod:`copylearn.streams`); the sweep
        passes its store's (:func:`copylearn.sweep.run_sweep`).
    workers : int or callable
        Processes the point's trials may be spread over (default 1: this process only), or a
        function returning that count, asked at each doubling stage until the helpers fork
        (a sweep's pool passes :func:`copylearn.sweep.pool_share`).
        From the first doubling stage of two batches or more (of at most 2^19 shots each)
        that simulates at least :data:`PARALLEL_SHOTS` shots (all trials together) or
        follows a stage of at least :data:`PARALLEL_SECONDS` seconds (when to fork changes no
        result), ``workers - 1`` forked helpers each judge
        a fixed share of the trials to the end of the point (:mod:`copylearn.trial_workers`);
        the result is bit-identical for every ``workers``. Where processes cannot be forked
        it runs here.
        Each process holds its own simulator batch, so the batch memory of
        :func:`copylearn.sweep.point_memory` is needed up to ``workers`` times.

    Raises
    ------
    CopylearnError
        ``max_copies`` leaves no room to search, or a trial helper process failed.

    Returns
    -------
    dict
        A :class:`copylearn.records.PointResult` as JSON: ``n_star``, ``n_star_ci``,
        ``n_star_2_3``, ``n_star_2_3_ci``, ``copies_per_experiment``,
        ``experiments_star``, ``curve`` (copies, successes, trials), ``reached`` and, when
        calibrated, ``calibration`` (the measured damping table). When the Wilson lower bound
        never reached the target by ``max_copies`` (``reached`` False), ``n_star``,
        ``n_star_ci`` and ``experiments_star`` are None: N* is only known to exceed the largest
        copy count evaluated (``curve["copies"][-1]``), whatever the curve crossed by chance.
    """
    if not callable(workers) and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise CopylearnError(f"workers={workers!r}: give an integer >= 1 (1 runs in this process).")
    task = get_task(spec["task"])
    task.check_spec(spec)
    trials, target = spec["trials"], spec["target"]
    per_shot = get_protocol(spec["strategy"]).copies_per_shot
    copies = copy_grid(per_shot, spec["max_copies"])
    if len(copies) < 2:
        raise CopylearnError(f"max_copies={spec['max_copies']} leaves no room to search.")
    shots_at = copies // per_shot
    noise = None if spec["noise"] == "none" else spec["noise"]
    device = spec_value(spec, "device")

    options = {**protocol_options(spec), **task.protocol_options(spec)}

    def collector_for(state):
        return prepare_collector(
            state,
            spec["strategy"],
            noise,
            spec_value(spec, "backend"),
            device=None if device == "none" else device,
            noise_scale=spec_value(spec, "noise_scale"),
            options=options,
            stream=stream,
        )

    collector = collector_for(task.circuit_family(spec))
    protocol = collector.module
    instances = [
        task.sample_instance(spec, np.random.default_rng(substream(seed, 0, t)))
        for t in range(trials)
    ]
    cal = None
    if spec_value(spec, "calibration_copies"):
        cal = calibration.measure(collector, spec["calibration_copies"], substream(seed, 4))
        if progress is not None:
            progress(f"calibrated with {cal.copies} copies")
    collectors: dict[tuple, Any] = {}  # instances outside the circuit family: one each

    def sample(states, shots, roots, backend_seed):
        return _sample_batch(
            collector, collectors, collector_for, states, shots, roots, backend_seed
        )

    # The task's own rule, fixed on held-out instances (stream 5, disjoint from the trials').
    rule = task.calibrate_rule(spec, protocol, sample, substream(seed, 5))
    if rule is not None and progress is not None:
        progress("decision rule calibrated")
    given = cal if rule is None else rule
    learners = [task.learner(spec, protocol, instance, given) for instance in instances]
    axis = task.judged_axis(spec)
    width = 1 if axis is None else len(axis[1])

    def run_stage(share: range, done: int, stop: int, stage: int) -> np.ndarray:
        """Judge the trials of ``share`` on grid points ``done..stop``: ``(len(share),
        stop + 1 - done, width)`` bool. Every batch holding one of them is sampled whole, so
        the data do not depend on how the trials are shared among processes."""
        first_shot = int(shots_at[done - 1]) if done else 0
        segment = int(shots_at[stop]) - first_shot
        batches = _trial_batches(trials, segment)
        ends = shots_at[done : stop + 1]
        out = np.zeros((len(share), stop + 1 - done, width), dtype=bool)
        for number, batch in enumerate(batches):
            if batch.stop <= share.start or batch.start >= share.stop:
                continue
            arrays = _sample_batch(
                collector,
                collectors,
                collector_for,
                [instances[t].state for t in batch],
                segment,
                [substream(seed, 1, t, stage) for t in batch],
                substream(seed, 3, stage, number),
            )
            for t, data in zip(batch, arrays, strict=True):
                if t in share:
                    judged = learners[t].judge(data, ends - first_shot, ends)
                    out[t - share.start] = np.reshape(judged, (stop + 1 - done, width))
            if progress is not None and len(batches) > 1 and share.start == 0:
                progress(f"{copies[stop]} copies, trial batch {number + 1}/{len(batches)}")
        return out

    success = np.zeros((trials, len(copies), width), dtype=bool)
    done, stage, reached = 0, 0, False
    last_seconds = 0.0
    helpers: TrialWorkers | None = None
    try:
        while done < len(copies):
            stop = min(len(copies) - 1, int(np.searchsorted(copies, copies[done] * 2)))
            if task.one_segment(spec):
                stop = len(copies) - 1
            first_shot = int(shots_at[done - 1]) if done else 0
            segment = int(shots_at[stop]) - first_shot
            work = trials * segment
            # A process gains only whole batches (a batch is sampled by every process holding
            # one of its trials), so a stage of one batch is never spread.
            several = len(_trial_batches(trials, segment)) > 1
            long = work >= PARALLEL_SHOTS or last_seconds >= PARALLEL_SECONDS
            if helpers is None and several and long:
                count = workers() if callable(workers) else workers
                if count > 1 and can_fork():
                    # Forked now, the helpers inherit every learner as it stands (docs/theory.md
                    # §6.7): each keeps its share of the trials to the end of the point.
                    helpers = TrialWorkers(run_stage, shares(trials, count))
            started = time.perf_counter()
            if helpers is None:
                success[:, done : stop + 1] = run_stage(range(trials), done, stop, stage)
            else:
                parts = helpers.run(done, stop, stage)
                success[:, done : stop + 1] = np.concatenate(parts, axis=0)
            last_seconds = time.perf_counter() - started
            done = stop + 1
            stage += 1
            rate = success[:, stop, -1].mean()
            if progress is not None:
                progress(f"{copies[stop]} copies, success {rate:.3f}")
            if wilson_interval(success[:, stop, -1].sum(), trials)[0] >= target:
                reached = True
                break
    finally:
        if helpers is not None:
            helpers.close()
    evaluated = copies[:done]
    rng = np.random.default_rng(substream(seed, 2))
    results = [
        _curve_result(success[:, :done, k], evaluated, target, reached, rng, per_shot)
        for k in range(width)
    ]
    out = results[-1]
    if cal is not None:
        out["calibration"] = cal.to_dict()
    if rule is not None:
        out["decision_rule"] = rule
    out = PointResult(**out).to_json()
    if axis is not None:
        # Every value of the judged axis from the same streams (docs/theory.md §16.1).
        key, values = axis
        out["nested"] = {
            "key": key,
            "points": [
                {key: value, **PointResult(**r).to_json()}
                for value, r in zip(values, results, strict=True)
            ],
        }
    return out


def _curve_result(
    curve: np.ndarray,
    evaluated: np.ndarray,
    target: float,
    reached: bool,
    rng: np.random.Generator,
    per_shot: int,
) -> dict[str, Any]:
    """N*, N*(2/3), their bootstrap CIs and the curve of one ``(trials, G)`` success array."""
    trials = curve.shape[0]
    rates = curve.mean(axis=0)
    if reached:  # a judged axis: every column must reach the target on its own
        reached = bool(wilson_interval(curve[:, -1].sum(), trials)[0] >= target)
    result: dict[str, Any] = {"copies_per_experiment": per_shot, "reached": reached}
    for key, level in (("n_star", target), ("n_star_2_3", 2 / 3)):
        value = crossing(rates, evaluated, level)
        # Draw the bootstrap stream whatever happens, so N*(2/3) does not depend on `reached`.
        ci = _bootstrap(curve, evaluated, level, rng) if value else None
        if key == "n_star" and not reached:
            # The curve may cross the target by chance, but its Wilson lower bound never
            # reached it by max_copies: there is no measured N*, only N* > max_copies.
            value = ci = None
        result[key] = value
        result[f"{key}_ci"] = ci
    result["experiments_star"] = None if result["n_star"] is None else result["n_star"] / per_shot
    result["curve"] = {
        "copies": evaluated.tolist(),
        "successes": curve.sum(axis=0).tolist(),
        "trials": trials,
    }
    return result
