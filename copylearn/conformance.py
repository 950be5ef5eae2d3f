"""Conformance checks for registered protocols and tasks, for copylearn's tests and plug-ins'.

A plug-in author calls these from their own tests once their module is imported::

    from copylearn.conformance import check_protocol, check_task

    def test_my_protocol_conforms():
        check_protocol("my-protocol")

    def test_my_task_conforms():
        check_task("my-task")

Each raises :class:`ConformanceError` (an ``AssertionError``, so pytest reports it as a
failed test) listing every failed check, and returns a :class:`Report` of what it checked.

:func:`check_protocol` checks the declared interface (estimator keys, one-line refusals of
undeclared estimators and of bad parameter values) and, for every estimator the protocol
declares, its estimates on random states against the exact density matrix within
:data:`Z_MAX` of the estimator's own standard errors: noiseless data against
tr(Q rho), tr(Q rho)^2, |tr(Q rho)| and tr(rho^2) of the state (docs/theory.md §3, §4), and,
for a protocol that calibrates, noisy data of Pauli states (Pauli-channel noise) whose
calibrated estimates target the noiseless state (docs/theory.md §9). It also checks that the
same seed gives bit-identical data with and without noise. A |tr(Q rho)| estimate (a root
of an unbiased square, or an absolute mean) is biased upwards near 0 by design; it passes on
either scale (the value, or its square against tr(Q rho)^2 with the delta-method error).
:func:`check_task` runs a small sample-complexity search with every protocol the task
supports and checks that every declared parameter refuses a bad value with a one-line error
naming its key, both directly and through sweep config validation.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from copylearn.errors import CopylearnError

#: An estimate farther than this many of its standard errors from the truth fails.
Z_MAX = 5.0
#: Noise of the noisy checks: a Pauli channel on every qubit after every operation, whose
#: damping the calibration divides out exactly (docs/theory.md §9.1).
NOISE = "depolarizing:0.02"
#: A value no parameter should accept, used when ``bad_values`` does not name the key.
BAD_VALUE = "?!"
_LETTERS = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


class ConformanceError(AssertionError):
    """One or more conformance checks failed; the message lists each."""


@dataclass
class Report:
    """What a conformance check covered.

    Attributes
    ----------
    name : str
        The protocol or task checked.
    comparisons : int
        Estimates compared with exact values (protocols) or searches run (tasks).
    checked : list of str
        One line per group of checks passed (estimator, state family, noise).
    failures : list of str
        One line per failed check (empty when the check passed).
    """

    name: str
    comparisons: int = 0
    checked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def raise_if_failed(self) -> Report:
        """Raise :class:`ConformanceError` listing the failures, else return self."""
        if self.failures:
            shown = self.failures[:20]
            more = len(self.failures) - len(shown)
            raise ConformanceError(
                f"{self.name}: {len(self.failures)} conformance check(s) failed:\n  "
                + "\n  ".join(shown)
                + (f"\n  ... and {more} more" if more > 0 else "")
            )
        return self


def _pauli_matrix(label: str) -> np.ndarray:
    out = np.eye(1, dtype=complex)
    for c in label:
        out = np.kron(out, _LETTERS[c])
    return out


def _labels(n: int) -> list[str]:
    return ["".join(p) for p in itertools.product("IXYZ", repeat=n) if set(p) != {"I"}]


def _random_states(n: int, count: int, rng: np.random.Generator) -> list:
    """Half random Pauli states (I + alpha s P)/2^n, half random mixed circuit states."""
    from copylearn.states import PauliMixedState, random_mixed_state

    states: list = []
    for i in range(count):
        if i % 2 == 0:
            pauli = "".join(rng.choice(list("IXYZ"), size=n))
            if set(pauli) == {"I"}:
                pauli = "Z" + pauli[1:]
            alpha = float(rng.uniform(0.3, 1.0))
            states.append(PauliMixedState(pauli, alpha, int(rng.choice([-1, 1]))))
        else:
            states.append(random_mixed_state(n, 2, seed=int(rng.integers(2**31))))
    return states


def _one_line_naming(report: Report, what: str, call, *needles: str) -> None:
    """``call()`` must raise a one-line CopylearnError containing every needle."""
    try:
        call()
    except CopylearnError as exc:
        text = str(exc)
        if "\n" in text or not all(n in text for n in needles):
            report.failures.append(f"{what}: refusal {text!r} must be one line naming {needles}")
        return
    report.failures.append(f"{what}: was accepted, must be refused naming {needles}")


def _compare(report: Report, what: str, labels, values, stderr, truth, squared=False) -> None:
    """Each value within :data:`Z_MAX` standard errors of the truth.

    ``squared=True`` (the |tr(Q rho)| estimators) also accepts a value whose square is
    within :data:`Z_MAX` delta-method errors (2 |value| se) of the squared truth: such an
    estimate is a root of an unbiased square (Bell data) or an absolute mean, biased upwards
    near 0 by design, where its own delta-method error understates the spread.
    """
    values, stderr, truth = (np.asarray(a, dtype=float) for a in (values, stderr, truth))
    report.comparisons += int(values.size)
    bad = ~(np.abs(values - truth) <= Z_MAX * stderr)
    bad &= ~((stderr == 0) & np.isclose(values, truth, atol=1e-12))
    if squared:
        bad &= ~(np.abs(values**2 - truth**2) <= Z_MAX * 2 * np.abs(values) * stderr)
    for i in np.flatnonzero(bad.reshape(-1))[:3]:
        report.failures.append(
            f"{what} {labels[i]}: {values.flat[i]:.5f} +- {stderr.flat[i]:.5f}, exact "
            f"{truth.flat[i]:.5f} (more than {Z_MAX:g} standard errors apart)"
        )


def _estimates(data, estimator: str, labels: list[str], calibrated: bool = False):
    """``(values, stderr)`` of one declared estimator for ``labels`` (or all Paulis)."""
    if estimator == "tr(Q rho)":
        e = data.estimate(labels, calibrated=calibrated)
    elif estimator == "tr(Q rho)^2":
        e = data.estimate_square(labels, calibrated=calibrated)
    elif estimator == "|tr(Q rho)|":
        e = data.estimate_abs(labels, calibrated=calibrated)
    elif estimator == "tr(rho^2)":
        e = data.purity()
    elif estimator == "tr(Q rho Q rho)/tr(rho^2)":
        e = data.estimate_principal_ratio(labels)
    else:  # "all tr(Q rho)^2": in the order of ``labels``
        values, stderr = data.estimate_all_squares()
        codes = [tuple("IXYZ".index(c) for c in q) for q in labels]
        return np.array([values[c] for c in codes]), np.array([stderr[c] for c in codes])
    return e.values, e.stderr


def _truth(
    estimator: str, signed: np.ndarray, purity: float, ratio: np.ndarray | None = None
) -> np.ndarray:
    if estimator == "tr(Q rho Q rho)/tr(rho^2)":  # docs/theory.md §19.3
        return ratio
    if estimator == "tr(Q rho)":
        return signed
    if estimator == "|tr(Q rho)|":
        return np.abs(signed)
    if estimator == "tr(rho^2)":
        return np.array([purity])
    return signed**2


def check_protocol(
    name: str,
    *,
    n_values: Sequence[int] = (1, 2, 3),
    states: int = 10,
    copies: int = 4000,
    noise: str | None = NOISE,
    calibration_copies: int = 20_000,
    backend: str = "exact",
    seed: int = 0,
    bad_values: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | Callable[[list[str]], Mapping[str, Any]] | None = None,
) -> Report:
    """Check the registered protocol ``name`` against exact density matrices.

    Parameters
    ----------
    name : str
        A registered protocol (import the plug-in module first).
    n_values : sequence of int
        Qubit counts to check (exact density matrices: keep n small).
    states : int
        Random states per n: half Pauli states (I + alpha s P)/2^n, half random mixed
        circuit states (:func:`copylearn.states.random_mixed_state`).
    copies : int
        Copies per dataset (even, so that two-copy protocols divide it).
    noise : str or None
        A Pauli-channel noise spec for the noisy checks (only Pauli states, only a
        protocol that calibrates: calibrated estimates target the noiseless state); None
        skips them.
    calibration_copies : int
        Copies per calibration letter of the noisy checks.
    backend : {"exact", "qsim"}
        Simulator.
    seed : int
        Seed of the states and of every collection (fixed: the check is reproducible).
    bad_values : mapping, optional
        A value each named protocol parameter must refuse (default :data:`BAD_VALUE`).
    options : mapping or callable, optional
        The protocol's options for every collection (``collect(..., options=...)``), or a
        callable that receives the labels of the observables the check estimates at one n
        and returns them: for a protocol that must know its observables in advance, e.g.
        ``options=lambda labels: {"observables": ",".join(labels)}``, which is the default
        for a protocol that declares a parameter named ``observables``.

    Returns
    -------
    Report

    Raises
    ------
    ConformanceError
        Listing every failed check.
    CopylearnError
        ``name`` is not a registered protocol.
    """
    from copylearn.calibration import CalibrationWarning
    from copylearn.collect import collect
    from copylearn.protocols import ESTIMATORS, get_protocol
    from copylearn.states import PauliMixedState

    protocol = get_protocol(name)
    report = Report(name)
    if options is None and any(p.name == "observables" for p in protocol.parameters):
        # A protocol told its observables in advance (collect(..., observables=...)) is told
        # the ones this check estimates.
        options = lambda labels: {"observables": ",".join(labels)}  # noqa: E731
    _check_interface(report, protocol, ESTIMATORS, bad_values or {})
    rng = np.random.default_rng(seed)
    if getattr(protocol, "unknown", "state") == "process":
        return _check_process_protocol(report, name, n_values, copies, backend, rng, options)
    declared = [e for e in protocol.estimators if e in ESTIMATORS]
    for n in n_values:
        labels = _labels(n)
        opts = dict(options(list(labels)) if callable(options) else options or {})
        matrices = [_pauli_matrix(q) for q in labels]
        for i, state in enumerate(_random_states(n, states, rng)):
            rho = state.density_matrix()
            signed = np.array([np.trace(m @ rho).real for m in matrices])
            purity = float(np.trace(rho @ rho).real)
            ratio = np.array([np.trace(m @ rho @ m @ rho).real for m in matrices]) / purity
            run_seed = int(rng.integers(2**31))
            data = collect(state, name, copies=copies, backend=backend, seed=run_seed, options=opts)
            where = f"n={n} state {i} ({state.spec()}), noiseless"
            for estimator in declared:
                values, stderr = _estimates(data, estimator, labels)
                names = labels if estimator != "tr(rho^2)" else ["tr(rho^2)"]
                truth = _truth(estimator, signed, purity, ratio)
                _compare(
                    report,
                    f"{where}: {estimator}",
                    names,
                    values,
                    stderr,
                    truth,
                    squared=estimator == "|tr(Q rho)|",
                )
            if i == 0:
                _check_reproducible(
                    report, where, data, state, name, copies, backend, run_seed, options=opts
                )
            if noise is None or not protocol.calibrates or not isinstance(state, PauliMixedState):
                continue
            where = f"n={n} state {i} ({state.spec()}), noise {noise}, calibrated"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CalibrationWarning)
                noisy = collect(
                    state,
                    name,
                    copies=copies,
                    noise=noise,
                    backend=backend,
                    seed=run_seed,
                    calibration_copies=calibration_copies,
                    options=opts,
                )
                if i == 0:
                    _check_reproducible(
                        report, where, noisy, state, name, copies, backend, run_seed, noise, opts
                    )
                for estimator in ("tr(Q rho)", "tr(Q rho)^2"):
                    if estimator in declared:
                        values, stderr = _estimates(noisy, estimator, labels, calibrated=True)
                        truth = _truth(estimator, signed, purity)
                        _compare(report, f"{where}: {estimator}", labels, values, stderr, truth)
        report.checked.append(f"n={n}: {states} random states, estimators {', '.join(declared)}")
    return report.raise_if_failed()


def _check_process_protocol(report, name, n_values, copies, backend, rng, options) -> Report:
    """A protocol that queries a unitary U (``unknown = "process"``) has no estimator of a
    state to compare with a density matrix; its outcome law is the task's to test (the
    time-reversal tests check it against exact linear algebra, docs/theory.md §18). Here:
    it collects from a symmetric and a scrambling U at every n, and the same seed gives the
    same data."""
    from copylearn.collect import collect
    from copylearn.processes import sample_process

    opts = dict(options([]) if callable(options) else options or {})
    for n in n_values:
        if n < 2:
            report.checked.append(f"n={n}: skipped (the brickwork families need n >= 2)")
            continue
        for family in ("tsym", "scrambling"):
            process = sample_process(family, n, rng)
            run_seed = int(rng.integers(2**31))
            data = collect(
                process, name, copies=copies, backend=backend, seed=run_seed, options=opts
            )
            where = f"n={n} {family} U"
            _check_reproducible(
                report, where, data, process, name, copies, backend, run_seed, options=opts
            )
        report.checked.append(
            f"n={n}: a tsym and a scrambling U, the same seed gives the same data"
        )
    return report.raise_if_failed()


def _check_interface(report: Report, protocol, estimators, bad_values) -> None:
    """Declared names and arrays, one-line refusals of undeclared estimators and bad values."""
    for attr in ("name", "description"):
        if not isinstance(getattr(protocol, attr), str) or not getattr(protocol, attr):
            report.failures.append(f"{attr} must be a non-empty string")
    if not isinstance(protocol.copies_per_shot, int) or protocol.copies_per_shot < 1:
        report.failures.append(f"copies_per_shot={protocol.copies_per_shot!r}: an int >= 1")
    unknown = [e for e in protocol.estimators if e not in estimators]
    if unknown:
        report.failures.append(f"estimators {unknown} are not keys of protocols.ESTIMATORS")
    if not protocol.estimators and "estimators" not in protocol.unsupported_notes:
        # A protocol whose data only a task's own rule judges says why in its notes.
        report.failures.append("declares no estimator (nor why: unsupported_notes['estimators'])")
    for estimator in estimators:
        if estimator not in protocol.estimators:
            _one_line_naming(
                report,
                f"require({estimator!r})",
                lambda e=estimator: protocol.require(e),
                repr(protocol.name),
                estimator,
            )
    _check_parameters(report, protocol.parameters, bad_values)
    report.checked.append("interface: names, estimators, refusals, parameters")


def _check_parameters(report: Report, parameters, bad_values) -> None:
    for p in parameters:
        try:
            p.validate(p.default)
        except CopylearnError as exc:
            report.failures.append(f"parameter {p.name}: its default is refused ({exc})")
        bad = bad_values.get(p.name, BAD_VALUE)
        _one_line_naming(
            report, f"parameter {p.name}={bad!r}", lambda p=p, b=bad: p.validate(b), f"{p.name}: "
        )


def _check_reproducible(
    report, where, data, state, name, copies, backend, seed, noise=None, options=None
):
    from copylearn.collect import collect

    again = collect(
        state, name, copies=copies, noise=noise, backend=backend, seed=seed, options=options
    )
    for key, array in data.arrays.items():
        if not np.array_equal(array, again.arrays[key]):
            report.failures.append(f"{where}: the same seed gave different {key!r} arrays")
    report.comparisons += 1


def check_task(
    name: str,
    *,
    n: int | None = None,
    trials: int = 60,
    max_copies: int | None = None,
    seed: int = 3,
    bad_values: Mapping[str, Any] | None = None,
) -> Report:
    """Check the registered task ``name``: small searches and its parameters' refusals.

    ``n`` and ``max_copies`` default to the task's :attr:`copylearn.tasks.Task.small_point`
    (else n = 1 and 20,000 copies): a point where its learners reach the target cheaply.

    For every protocol the task supports, a search at ``n`` qubits with the task's default
    parameters must reach its target and give N* > 0 with one success curve; every declared
    parameter must refuse a bad value (``bad_values[key]``, default :data:`BAD_VALUE`) with a
    one-line error that starts with ``"<key>: "``, and a sweep config setting it must be
    refused naming ``grid.<key>``.

    Returns
    -------
    Report

    Raises
    ------
    ConformanceError
        Listing every failed check.
    CopylearnError
        ``name`` is not a registered task.
    """
    from copylearn.complexity import run_point
    from copylearn.protocols import get_protocol
    from copylearn.sweep import OPTIONAL_KEYS, grid_defaults, parse_config
    from copylearn.tasks import get_task

    task = get_task(name)
    report = Report(name)
    bad_values = bad_values or {}
    if not task.protocols:
        report.failures.append("supports no protocol")
    small = {"n": 1, "max_copies": 20_000, **task.small_point}
    n = small["n"] if n is None else n
    max_copies = small["max_copies"] if max_copies is None else max_copies
    for strategy in task.protocols:
        spec = {**grid_defaults(name), "task": name, "strategy": strategy, "n": n}
        spec.update(trials=trials, max_copies=max_copies, target=0.8)
        for key in OPTIONAL_KEYS:
            spec.pop(key, None)
        try:
            result = run_point(spec, np.random.SeedSequence(seed))
        except CopylearnError as exc:
            report.failures.append(f"{strategy}: the search failed: {exc}")
            continue
        report.comparisons += 1
        curve = result.get("curve", {})
        if not (result.get("reached") and result.get("n_star", 0) > 0):
            report.failures.append(
                f"{strategy}: the n={n} search did not reach 0.8 within {max_copies} copies"
            )
        if curve.get("trials") != trials or len(curve.get("copies", ())) != len(
            curve.get("successes", ())
        ):
            report.failures.append(f"{strategy}: the success curve is malformed ({curve!r})")
        if result.get("copies_per_experiment") != get_protocol(strategy).copies_per_shot:
            report.failures.append(f"{strategy}: copies_per_experiment is not the protocol's")
    _check_parameters(report, task.parameters, bad_values)
    strategy = task.protocols[0] if task.protocols else "bell"
    for p in task.parameters:
        bad = bad_values.get(p.name, BAD_VALUE)
        text = (
            f'[sweep]\ntask = "{name}"\nseed = 1\nstrategies = ["{strategy}"]\n'
            f"[grid]\nn = {n}\n{p.name} = {_toml(bad)}\n"
        )
        _one_line_naming(
            report,
            f"config grid.{p.name}={bad!r}",
            lambda t=text: parse_config(t),
            f"grid.{p.name}",
        )
    report.checked.append(f"searches with {', '.join(task.protocols)}; parameter refusals")
    return report.raise_if_failed()


def _toml(value: Any) -> str:
    """A TOML literal of a bad value (strings quoted, numbers and booleans as they are)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
