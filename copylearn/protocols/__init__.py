"""Measurement protocols: registered, self-describing classes, one module each.

A protocol is a subclass of :class:`Protocol` registered by name with
:func:`register_protocol`. It declares its name and a one-line description, the copies of
rho one experiment consumes, the dataset arrays it records, and the estimators it supports
(:data:`ESTIMATORS`); it builds its measurement circuit(s) for a state, draws the per-shot
choices it records, turns measured bits into dataset arrays, gives the per-prefix sums of
its single-shot values (what the sweep runner folds into its learners), and says how its
damping is calibrated on known eigenstates (docs/theory.md §9).

Everything outside this package asks the registry (:func:`get_protocol`,
:func:`protocol_names`) and compares no protocol by name. The built-in protocols
(``pauli-shadow`` in :mod:`copylearn.protocols.single_copy`, ``bell`` in
:mod:`copylearn.protocols.two_copy`) register on first use; plug-ins register on import
(:mod:`copylearn.plugins`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import cirq
import numpy as np

from copylearn.errors import CopylearnError
from copylearn.parameters import Parameter, ParameterError
from copylearn.registry import Registry

# Estimator names a protocol may declare, each with the Dataset method that computes it.
ESTIMATORS = {
    "tr(Q rho)": "estimate",
    "tr(Q rho)^2": "estimate_square",
    "|tr(Q rho)|": "estimate_abs",
    "tr(rho^2)": "purity",
    "all tr(Q rho)^2": "estimate_all_squares",
    "tr(Q rho Q rho)/tr(rho^2)": "estimate_principal_ratio",
}
_REGISTRY: Registry[Protocol] = Registry(
    "protocol",
    (
        "copylearn.protocols.single_copy",
        "copylearn.protocols.two_copy",
        "copylearn.protocols.clifford_shadow",
        "copylearn.protocols.derandomized_shadow",
        "copylearn.protocols.two_query_bell",
        "copylearn.protocols.conventional_y",
        "copylearn.protocols.partial_bell",
    ),
    "or register a plug-in: docs/extending.md",
)


@dataclass(frozen=True)
class Experiment:
    """What a backend executes for one data collection.

    Attributes
    ----------
    circuit : cirq.Circuit
        Parameterised circuit with terminal measurements.
    parameter_names : tuple of str
        Names of the circuit's symbols, one column of ``values`` each.
    values : np.ndarray
        ``(shots, len(parameter_names))`` per-shot parameter values.
    record : dict of str to np.ndarray
        Per-shot choices the learner knows and keeps (e.g. measurement bases).
    """

    circuit: cirq.Circuit
    parameter_names: tuple[str, ...]
    values: np.ndarray
    record: dict[str, np.ndarray]


class Protocol:
    """A measurement protocol (subclass it and decorate with :func:`register_protocol`).

    Class attributes
    ----------------
    name : str
        Registry name (the ``protocol=`` of :func:`copylearn.collect`, a sweep strategy).
    description : str
        One line for ``copylearn list``.
    copies_per_shot : int
        Copies of rho one experiment (shot) consumes.
    arrays : tuple of str
        Names of the packed ``(shots, n_words(n))`` uint64 dataset arrays it records.
    estimators : tuple of str
        The keys of :data:`ESTIMATORS` its data support.
    statistic : str
        What the mean of its single-shot values :meth:`sums` estimates: ``"tr(Q rho)"`` or
        ``"tr(Q rho)^2"`` (meaningless for a protocol without :attr:`estimators`).
    unknown : {"state", "process"}
        What the protocol measures: copies of an unknown state rho (default), or queries of an
        unknown unitary process U (:mod:`copylearn.processes`; the CLI's ``--process``).
    unit : str
        What its copy count N counts, as figures and summaries word it: ``"copies of ρ"``
        (default) or ``"queries of U"``; the first word is the short form (``"copies"``).
    unsupported_notes : dict of str to str
        Optional reason per unsupported estimator, appended to the refusal (key
        ``"calibration"``: why it declares no calibration).
    parameters : tuple of Parameter
        The protocol's own settings (none for the built-ins), listed by ``copylearn list``.
    plot_style : dict
        How figures draw its series (:mod:`copylearn.plotting`): ``label`` (legend text),
        ``short`` (in axis notes), ``marker`` (a Matplotlib marker) with ``marker_name`` (its
        glyph in captions), ``colours`` (Okabe-Ito colour names, one per series of the
        protocol in turn). Keys left out take a fallback style (its name as the label, a
        diamond, black first).
    variance_growth : tuple of (float, str) or None
        For a protocol whose single-shot estimate of tr(Q rho) has second moment growing as
        base^n for the hardest Q (shadows), ``(base, label)``: tasks draw a "theory" overlay
        C base^n labelled ``label`` from it instead of comparing protocol names (3 for
        random-Pauli shadows with a full-weight Q, docs/theory.md §7.2; 2 for random global
        Clifford shadows, E x̂_Q^2 = 2^n + 1, §13.1). None (default): no such overlay.
    calibrates : bool
        Whether its damping can be measured on known eigenstates (docs/theory.md §9.1): the
        protocol then implements :meth:`calibration_values` (through :meth:`sums_values`),
        and :meth:`calibration_prefixes` and :meth:`calibration_stderr` fit it. False by
        default, so a new protocol is refused by ``calibration_copies`` instead of getting
        dampings computed for another protocol's statistics.

    Measurement-circuit pool: :meth:`circuits` returns the protocol's parameterised
    circuits for a state. The built-in protocols use one circuit (per-shot choices are
    circuit parameters); a protocol with a random global unitary per shot group returns
    several (same parameter names each), and :meth:`draw` records which one each shot
    uses under ``"circuit"`` (integers in [0, K)); the collector plans each member once and
    executes each member's shots with its own plan and seed stream (docs/extending.md).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    copies_per_shot: ClassVar[int] = 1
    arrays: ClassVar[tuple[str, ...]] = ()
    estimators: ClassVar[tuple[str, ...]] = ()
    statistic: ClassVar[str] = "tr(Q rho)"
    unknown: ClassVar[str] = "state"
    unit: ClassVar[str] = "copies of ρ"
    unsupported_notes: ClassVar[dict[str, str]] = {}
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    calibrates: ClassVar[bool] = False
    variance_growth: ClassVar[tuple[float, str] | None] = None
    plot_style: ClassVar[dict[str, Any]] = {}

    # ----- circuits and data ---------------------------------------------------------------
    def build(self, state) -> tuple[cirq.Circuit, tuple[str, ...]]:
        """The parameterised circuit for ``state`` (preparation + measurement), its symbols."""
        raise NotImplementedError

    def circuits(self, state) -> tuple[tuple[cirq.Circuit, tuple[str, ...]], ...]:
        """The pool of measurement circuits for ``state`` (one by default: :meth:`build`)."""
        return (self.build(state),)

    def draw(
        self, state, shots: int, rngs: dict[str, np.random.Generator]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``(shots, parameters)`` per-shot parameter values and the choices to record.

        ``rngs`` holds independent generators ``"state_a"``, ``"state_b"``, ``"protocol"``.
        """
        raise NotImplementedError

    def outcome_arrays(
        self, record: dict[str, np.ndarray], measurements: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Dataset arrays (exactly :attr:`arrays`) from the record and measured bits."""
        raise NotImplementedError

    def array_words(self, name: str, n: int) -> int:
        """uint64 words per shot of dataset array ``name`` (default ``n_words(n)``)."""
        from copylearn.pauli import n_words

        return n_words(n)

    def unpack(self, arrays: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """The raw shots unpacked, one ``uint8`` row per shot (``Dataset.outcomes``)."""
        raise NotImplementedError

    def place(self, device, n: int, ladder: bool) -> dict[cirq.Qid, cirq.Qid]:
        """Map the LineQubits of :meth:`build` onto ``device``'s qubits."""
        raise NotImplementedError

    def device_capacity(self, device) -> tuple[int, str]:
        """Largest n ``device`` holds and a short description of the layout."""
        raise NotImplementedError

    # ----- declared parameters -------------------------------------------------------------
    def with_options(self, options: Mapping[str, Any] | None = None) -> Protocol:
        """This protocol with some of its declared :attr:`parameters` set (``options``).

        The one way options reach a protocol: ``collect(..., options=...)``, a sweep's
        ``[strategy.NAME]`` section and the CLI's ``--option key=value`` all come here. Each
        value is validated by its :class:`~copylearn.parameters.Parameter`; a protocol with
        parameters takes them as keyword arguments of its constructor.

        Returns
        -------
        Protocol
            ``self`` when every option is at its default (or there are none), else a new
            instance of the same class.

        Raises
        ------
        ParameterError
            A key the protocol does not declare, or a value its Parameter refuses (one line
            naming the key).
        """
        if not options:
            return self
        declared = {p.name: p for p in self.parameters}
        values = {}
        for key, value in options.items():
            if key not in declared:
                takes = ", ".join(declared) or "no options"
                raise ParameterError(
                    key, f"{key}: protocol {self.name!r} has no such option (it takes {takes})."
                )
            values[key] = declared[key].validate(value)
        if all(values[k] == declared[k].default for k in values):
            return self
        return type(self)(**values)

    def options(self) -> dict[str, Any]:
        """The values of this instance's declared parameters (``{}`` for none)."""
        return {p.name: getattr(self, p.name, p.default) for p in self.parameters}

    def check_n(self, n: int) -> None:
        """Refuse, in one line naming the option, options that do not fit an n-qubit state.

        Default: every n fits. ``partial-bell`` refuses ``memory_qubits > n``; tasks call it
        on every grid point (:meth:`copylearn.tasks.Task.check_spec`).
        """

    def groups(self, shots: int) -> np.ndarray:
        """``(shots,)`` index of the independent group each shot belongs to.

        Shots of one group share a random choice (e.g. one random unitary measured R times)
        and are not independent; estimators that assume independent shots compute their
        errors from group totals or refuse (:class:`copylearn.data.Dataset`). Default: every
        shot its own group.
        """
        return np.arange(shots)

    # ----- estimators ----------------------------------------------------------------------
    def sums(
        self, paulis, arrays: dict[str, np.ndarray], ends: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sums of the single-shot values (and their squares) of every Pauli in ``paulis``.

        Without ``ends``: two ``(M,)`` arrays over all shots. With ``ends`` (increasing
        prefix lengths): two ``(len(ends), M)`` arrays, one row per prefix — what the sweep's
        learners fold in (docs/theory.md §6). The mean estimates :attr:`statistic`.
        """
        raise NotImplementedError

    def direct_estimate(self, paulis, arrays: dict[str, np.ndarray]):
        """tr(Q rho) by the protocol's own estimator, when it is not a mean over all shots.

        Default None: ``Dataset.estimate`` averages :meth:`sums`. A protocol whose estimate
        averages over a subset of shots (``derandomized-shadow``: the rounds that measured Q)
        returns ``(values, stderr, shots, method)``, arrays of shape ``(M,)``.
        """
        return None

    def purity_values(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """``(shots,)`` single-shot values whose mean is unbiased for tr(rho^2)."""
        raise NotImplementedError

    def purity_estimate(self, arrays: dict[str, np.ndarray], n: int) -> tuple[float, float, str]:
        """tr(rho^2), its standard error and the method's name (``Dataset.purity``).

        Default: the mean of :meth:`purity_values` (+-1 values) with the binomial-aware
        error; protocols whose estimator is not a mean of single-shot values override it.
        """
        from copylearn.data import _pm1_stderr

        values = self.purity_values(arrays)
        mean = np.array([values.mean()])
        stderr = _pm1_stderr(mean, np.array([values.var(ddof=1)]), len(values))
        return float(mean[0]), float(stderr[0]), "bell swap parity"

    def outcome_codes(self, arrays: dict[str, np.ndarray], n: int) -> np.ndarray:
        """``(shots,)`` outcome codes whose histogram gives all tr(Q rho)^2 (Walsh)."""
        raise NotImplementedError

    def min_batch_shots(self, weight: int, n: int | None = None) -> int:
        """Fewest shots a median-of-means batch may hold for an observable of ``weight``
        on ``n`` qubits (``n`` for protocols whose variance grows with the register, e.g.
        global Clifford shadows; ``Dataset`` passes it).

        Below it the batch means take a handful of discrete values and the median's
        large-sample error does not hold (``Dataset.estimate(..., median_of_means=k)``).

        Raises
        ------
        CopylearnError
            The protocol declares no batch rule (override this and :meth:`batch_rule`).
        """
        raise CopylearnError(
            f"protocol {self.name!r} declares no median-of-means batch size "
            "(Protocol.min_batch_shots): use the plain mean (median_of_means=None)."
        )

    def batch_rule(self, weight: int, n: int | None = None) -> str:
        """``min_batch_shots(weight, n)`` with how it is computed, for the refusal of too many
        batches (``"... needs at least <this>"``)."""
        return str(self.min_batch_shots(weight, n))

    def supports(self, estimator: str) -> bool:
        """Whether the data support ``estimator`` (a key of :data:`ESTIMATORS`)."""
        return estimator in self.estimators

    def require(self, estimator: str) -> None:
        """Refuse, in one line, an estimator this protocol does not support.

        Raises
        ------
        CopylearnError
            Names the protocol, what it supports, and the protocols that support it.
        """
        if self.supports(estimator):
            return
        others = [p for p in protocol_names() if get_protocol(p).supports(estimator)]
        named = [f"protocol={p!r} ({get_protocol(p).kind} data)" for p in others]
        fix = f"; collect with {' or '.join(named)}" if named else ""
        raise CopylearnError(
            f"protocol {self.name!r} does not support {estimator}"
            f"{self.unsupported_notes.get(estimator, '')}: it supports "
            f"{', '.join(self.estimators) or 'no estimator'}{fix}."
        )

    # ----- calibration ---------------------------------------------------------------------
    def require_calibration(self, key: str = "calibration_copies") -> None:
        """Refuse, in one line naming the protocol and ``key``, a calibration it cannot do.

        Raises
        ------
        CopylearnError
            :attr:`calibrates` is False.
        """
        if self.calibrates:
            return
        able = [p for p in protocol_names() if get_protocol(p).calibrates]
        raise CopylearnError(
            f"{key}: protocol {self.name!r} declares no calibration on known eigenstates "
            f"(calibrates = False{self.unsupported_notes.get('calibration', '')}): "
            f"use {key} = 0, or a protocol that calibrates "
            f"({', '.join(able) or 'none registered'})."
        )

    def calibration_prefixes(self) -> tuple[str, ...]:
        """Name prefixes of the eigenstate preparations whose signs multiply per shot."""
        return ("",)

    def calibration_values(self, singles, data: dict[str, np.ndarray]) -> np.ndarray:
        """``(shots, n)`` single-shot values of the single-qubit Paulis ``singles``.

        Multiplied by the prepared eigenvalue signs, their mean is the protocol's damping of
        each single-qubit Pauli (docs/theory.md §9.1).
        """
        return self.sums_values(singles, data)

    def sums_values(self, paulis, data: dict[str, np.ndarray]) -> np.ndarray:
        """``(shots, M)`` single-shot values (the terms of :meth:`sums`)."""
        raise NotImplementedError

    def value_bound(self, paulis) -> np.ndarray:
        """``(M,)`` the largest |single-shot value| of each Pauli (default 1: +-1 values, as
        Bell sampling's f_Q); the zero-variance error floor of ``estimate_square`` scales
        with it."""
        return np.ones(len(paulis))

    def calibration_stderr(self, mean: np.ndarray, w: np.ndarray, shots: int) -> np.ndarray:
        """Standard error of a damping mean from its signed single-shot values ``w``."""
        return w.std(axis=0, ddof=1) / np.sqrt(shots)

    @property
    def kind(self) -> str:
        """``"single-copy"``, ``"two-copy"`` or ``"k-copy"``: copies one experiment holds."""
        words = {1: "single", 2: "two", 3: "three"}
        return f"{words.get(self.copies_per_shot, self.copies_per_shot)}-copy"

    def describe(self) -> dict[str, Any]:
        """What ``copylearn list`` prints."""
        return {
            "name": self.name,
            "description": self.description,
            "copies_per_shot": self.copies_per_shot,
            "unknown": self.unknown,
            "unit": self.unit,
            "arrays": list(self.arrays),
            "estimators": list(self.estimators),
            "calibrates": self.calibrates,
            "parameters": {p.name: {"default": p.default, "doc": p.doc} for p in self.parameters},
        }


def prefix_sums(values: np.ndarray, ends=None) -> tuple[np.ndarray, np.ndarray]:
    """Sums of ``(shots, M)`` single-shot ``values`` and of their squares: ``(M,)`` each over
    all shots, or ``(len(ends), M)`` per prefix (the :meth:`Protocol.sums` contract) for
    protocols whose estimators are per-shot values (``clifford-shadow``, ``partial-bell``).

    Raises
    ------
    CopylearnError
        ``ends`` not increasing prefix lengths within 0..shots.
    """
    if ends is None:
        return values.sum(axis=0), (values**2).sum(axis=0)
    ends = np.asarray(ends, dtype=np.int64)
    shots = values.shape[0]
    if ends.ndim != 1 or np.any(ends < 0) or np.any(ends > shots) or np.any(np.diff(ends) < 0):
        raise CopylearnError(
            f"ends must be increasing prefix lengths within 0..{shots}, got {ends.tolist()}."
        )
    zero = np.zeros((1, values.shape[1]))
    c1 = np.concatenate([zero, np.cumsum(values, axis=0)])
    c2 = np.concatenate([zero, np.cumsum(values**2, axis=0)])
    return c1[ends], c2[ends]


def register_protocol(cls: type[Protocol]) -> type[Protocol]:
    """Class decorator: register one instance of ``cls`` under ``cls.name``.

    Raises
    ------
    CopylearnError
        No name, an estimator outside :data:`ESTIMATORS`, or the name is taken by another
        class.
    """
    return _REGISTRY.register(cls, check=_check_estimators)


def _check_estimators(cls: type[Protocol]) -> None:
    bad = [e for e in cls.estimators if e not in ESTIMATORS]
    if bad:
        raise CopylearnError(
            f"protocol {cls.name!r} declares unknown estimators {bad}: use keys of "
            f"copylearn.protocols.ESTIMATORS ({', '.join(ESTIMATORS)})."
        )


def protocol_names() -> tuple[str, ...]:
    """Registered protocol names, built-ins first."""
    return _REGISTRY.names()


def get_protocol(name: str) -> Protocol:
    """The registered protocol ``name``.

    Raises
    ------
    CopylearnError
        No protocol is registered under ``name``.
    """
    return _REGISTRY.get(name)


def unit_of(strategies) -> str:
    """What N counts for the protocols ``strategies`` (figure axes, summary headers).

    Their common :attr:`Protocol.unit`, or the distinct units joined by " / " (e.g.
    ``"copies of ρ / queries of U"``) when they differ; a name that is not registered (a
    plug-in not imported) counts copies of rho.
    """
    units = []
    for name in dict.fromkeys(strategies):
        try:
            units.append(get_protocol(name).unit)
        except CopylearnError:
            units.append(Protocol.unit)
    return " / ".join(dict.fromkeys(units)) or Protocol.unit


def unit_noun(strategies) -> str:
    """The short form of :func:`unit_of`: ``"copies"``, ``"queries"``, ``"copies / queries"``."""
    return " / ".join(unit.split()[0] for unit in unit_of(strategies).split(" / "))


def state_columns(state, rng: np.random.Generator, shots: int, stream: int):
    """The state's per-shot parameter columns for a ``draw`` on ``stream``.

    Stream 2 and a state with ``sample_packed`` (the Pauli states), or a state without
    parameters: a :class:`copylearn.streams.PackedColumns`; otherwise
    ``state.sample_parameters`` (a ``(shots, k)`` array, stream 1's draw).
    """
    from copylearn.streams import PackedColumns

    if stream >= 2 and hasattr(state, "sample_packed"):
        return state.sample_packed(rng, shots)
    values = state.sample_parameters(rng, shots)
    if stream >= 2 and values.shape[1] == 0:
        return PackedColumns(np.zeros((shots, 0), dtype=np.uint64), 0)
    return values


def prepare(protocol: str, state, shots: int, rngs: dict[str, np.random.Generator]) -> Experiment:
    """The protocol's circuit for ``state`` and ``shots`` rows of per-shot parameters.

    ``rngs`` holds the generators the protocol's ``draw`` uses (``"state_a"``, ``"state_b"``,
    ``"protocol"``).
    """
    spec = get_protocol(protocol)
    circuit, names = spec.build(state)
    values, record = spec.draw(state, shots, rngs)
    return Experiment(circuit, names, values, record)
