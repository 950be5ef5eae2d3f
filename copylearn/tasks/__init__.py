"""Learning tasks: registered, self-describing classes, one module each.

A task is a subclass of :class:`Task` registered by name with :func:`register_task`. It
declares its parameters (:class:`Parameter`: name, default, validation, doc), the protocols
it supports, an instance sampler (the unknown state of one trial), a learner that judges
every prefix of a trial's data with a rule fixed before any data is seen, and the theory
curves its figures may overlay (docs/theory.md §5, §6, §7.5).

The sweep runner (:mod:`copylearn.complexity`) asks the task and knows none by name. The
built-in ``pauli-prediction`` task (:mod:`copylearn.tasks.pauli_prediction`) registers on
first use; plug-ins register on import (:mod:`copylearn.plugins`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from copylearn.errors import CopylearnError
from copylearn.parameters import Parameter, ParameterError
from copylearn.registry import Registry

__all__ = [
    "Learner",
    "Parameter",
    "ParameterError",
    "Task",
    "get_task",
    "register_task",
    "task_names",
]

_REGISTRY: Registry[Task] = Registry(
    "task",
    (
        "copylearn.tasks.pauli_prediction",
        "copylearn.tasks.purity_testing",
        "copylearn.tasks.time_reversal",
        "copylearn.tasks.principal_component",
    ),
    "or name a plug-in module in [sweep] plugins: docs/extending.md",
)


class Learner:
    """A trial's learner: judges nested prefixes of its data with a rule fixed in advance."""

    def judge(
        self, data: dict[str, np.ndarray], ends: np.ndarray, totals: np.ndarray
    ) -> np.ndarray:
        """Fold in one new segment of the trial's shots; success of each prefix.

        Parameters
        ----------
        data : dict of str to np.ndarray
            The segment's dataset arrays (the protocol's ``arrays``).
        ends : np.ndarray
            ``(G,)`` increasing prefix lengths within the segment.
        totals : np.ndarray
            ``(G,)`` the trial's total shots at those prefixes.

        Returns
        -------
        np.ndarray
            ``(G,)`` bool.
        """
        raise NotImplementedError


class Task:
    """A learning task (subclass it and decorate with :func:`register_task`).

    Class attributes
    ----------------
    name : str
        Registry name (``[sweep] task = ...``).
    description : str
        One line for ``copylearn list``.
    parameters : tuple of Parameter
        The task's own grid keys, in canonical order.
    protocols : tuple of str
        The protocols it supports (a sweep's strategies).
    optional : tuple of str
        Parameters left out of a point's spec (and its id) while at their default.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    protocols: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ()

    def parameter(self, key: str) -> Parameter:
        """The declared parameter ``key``."""
        for p in self.parameters:
            if p.name == key:
                return p
        raise CopylearnError(f"task {self.name!r} has no parameter {key!r}.")

    def check_spec(self, spec: dict) -> None:
        """Validate a point's task parameters and combinations of them.

        Raises
        ------
        ParameterError
            Naming the key that is wrong (``strategy`` for an unsupported protocol).
        """
        if spec["strategy"] not in self.protocols:
            raise ParameterError(
                "strategy",
                f"task {self.name!r} does not support protocol {spec['strategy']!r}; it "
                f"supports {', '.join(self.protocols)}.",
            )
        for p in self.parameters:
            p.validate(spec.get(p.name, p.default))
        from copylearn.protocols import get_protocol

        protocol = get_protocol(spec["strategy"])
        own = {p.name: spec[p.name] for p in protocol.parameters if p.name in spec}
        protocol.with_options(own).check_n(spec["n"])  # options that depend on n

    def one_segment(self, spec: dict) -> bool:
        """Whether the runner collects each trial's whole stream (``max_copies``) at once.

        Default False: the stream grows by doubling (docs/theory.md §6.3). True suits a
        protocol whose randomness must be drawn once per trial (one random measurement
        basis for all of a trial's copies), since every doubling stage draws afresh.
        """
        return False

    def judged_axis(self, spec: dict) -> tuple[str, tuple] | None:
        """A grid key whose values the learner judges all at once from the same data.

        Default None. A task returns ``(key, values)`` when its learner's ``judge`` returns
        ``(G, len(values))`` successes, column k for ``spec[key] = values[k]`` (e.g. nested
        query sets); the runner then reports N* per value under ``"nested"`` in the row and
        stops when the last value reaches the target, so the last value must be the hardest.
        """
        return None

    def protocol_options(self, spec: dict) -> dict[str, Any]:
        """Protocol settings the task fixes for a point (``Protocol.with_options``).

        Default none. They are merged over the point's own ``[strategy.NAME]`` options; e.g. a
        task that measures all of a trial's copies in one random basis sets
        ``shots_per_unitary``.
        """
        return {}

    def circuit_family(self, spec: dict):
        """A state of the family every instance's circuit belongs to (plans the collector).

        An instance whose state is outside the family (its own circuit) gets its own
        collector, planned once per point (:mod:`copylearn.complexity`).
        """
        raise NotImplementedError

    def sample_instance(self, spec: dict, rng: np.random.Generator):
        """One trial's instance (it has a ``state`` the protocol measures)."""
        raise NotImplementedError

    def learner(self, spec: dict, protocol, instance, calibration) -> Learner:
        """A fresh :class:`Learner` for one trial.

        ``calibration`` is the task's own rule from :meth:`calibrate_rule` when it returned
        one, else the protocol's measured damping (``calibration_copies > 0``), else None.
        """
        raise NotImplementedError

    def calibrate_rule(self, spec: dict, protocol, sample, seed) -> dict | None:
        """Fix a decision rule on held-out calibration instances, before any trial runs.

        Default None (the rule needs no data). A task whose threshold depends on the noise
        draws its own calibration instances and data here; the runner gives it streams
        disjoint from every evaluation trial's, records the returned dict in the point's
        row (``decision_rule``) and passes it to :meth:`learner` as ``calibration``.

        Parameters
        ----------
        spec : dict
            The grid point.
        protocol : Protocol
            The point's protocol (options set).
        sample : callable
            ``sample(states, shots, roots, backend_seed)``: one dict of dataset arrays per
            state, each from ``shots`` experiments drawn from its root SeedSequence.
        seed : numpy.random.SeedSequence
            The calibration's own stream (spawn instances and shots from it).

        Returns
        -------
        dict or None
            JSON-ready description of the rule (e.g. its threshold and what set it).
        """
        return None

    def expected_copies(self, spec: dict, protocol) -> float:
        """A rough number of copies the search simulates (ETA and scheduling only)."""
        return float(spec["max_copies"])

    def memory(self, spec: dict) -> dict[str, tuple[int, str]]:
        """Bytes the learners of one point hold, by the key that drives them, with the fix.

        ``{key: (bytes, how to shrink it)}``; the sweep adds its own ``trials`` and
        ``max_copies`` parts and refuses a point that does not fit in memory.
        """
        return {}

    #: Grid values (``n``, ``max_copies``) where every supported protocol's learner reaches a
    #: target of 0.8 with 60 trials in seconds: the point :func:`copylearn.conformance.check_task`
    #: searches (default n = 1, 20,000 copies).
    small_point: ClassVar[dict[str, int]] = {}

    #: Points with N* <= this are left out of the fit as sitting at the search's floor;
    #: None: :func:`copylearn.fits.fit_groups`'s default (2 copies).
    fit_floor: ClassVar[float | None] = None

    #: Extra figures of a store of this task that :mod:`copylearn.plotting` knows how to
    #: draw (``"crossover"``: the storage-noise crossover of docs/theory.md §8.6).
    figures: ClassVar[tuple[str, ...]] = ()
    #: The (two-copy, single-copy) protocols the ``"crossover"`` figure compares
    #: (:func:`copylearn.crossover.analyse`); empty for a task without that figure.
    crossover_pair: ClassVar[tuple[str, ...]] = ()

    def overlays(self, protocol, group: dict) -> tuple[dict, ...]:
        """Theory curves a figure of N* versus n draws for one series (docs/theory.md §7.5).

        Parameters
        ----------
        protocol : Protocol
            The series' protocol.
        group : dict
            The series' grid values (every spec key but ``n``).

        Returns
        -------
        tuple of dict
            Each ``{"kind": ...}`` with ``kind`` one of ``"exponential"`` (``C * base^n``
            with C fitted to the measured points, or fixed by an optional key ``prefactor``;
            key ``base``, ``label``), ``"flat"``
            (constant in n at the data's geometric mean; ``label``) or
            ``"single-copy-lower-bound"`` (N_LB of §7.3 for the group's alpha and target).
        """
        return ()

    def fit_n_min(self, protocol, group: dict) -> int | None:
        """Smallest n the fit of N* versus n uses for one series (None: every n).

        A task whose N* approaches its exponential law only at larger n (small-n finite-size
        effects) declares where the asymptotic regime starts, so the fitted base measures
        that law; :func:`copylearn.fits.fit_groups` leaves the smaller n out and says so.

        Parameters
        ----------
        protocol : Protocol
            The series' protocol.
        group : dict
            The series' grid values (every spec key but ``n``).
        """
        return None

    def describe(self) -> dict[str, Any]:
        """What ``copylearn list`` prints."""
        return {
            "name": self.name,
            "description": self.description,
            "protocols": list(self.protocols),
            "parameters": {p.name: {"default": p.default, "doc": p.doc} for p in self.parameters},
        }


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: register one instance of ``cls`` under ``cls.name``.

    Raises
    ------
    CopylearnError
        No name, or the name is taken by another class.
    """
    return _REGISTRY.register(cls)


def task_names() -> tuple[str, ...]:
    """Registered task names, built-ins first."""
    return _REGISTRY.names()


def get_task(name: str) -> Task:
    """The registered task ``name``.

    Raises
    ------
    CopylearnError
        No task is registered under ``name``.
    """
    return _REGISTRY.get(name)
