"""Example copylearn plug-in: the single-Pauli sign task (docs/extending.md).

A trial's state is rho = (I + alpha s P)/2^n with a *known* Pauli P (uniform over
{X, Y, Z}^n) and a hidden sign s = +-1; the learner must name s. Its rule, fixed in
advance: the sign of the mean single-shot estimate of tr(P rho) (a mean of exactly 0
fails). Only protocols whose data give the signed tr(Q rho) can do it: random-Pauli shadows
can, Bell sampling (which sees tr(Q rho)^2 only) cannot, so the task supports
``pauli-shadow`` only. Coin picture (docs/theory.md §7.1): a shadow shot matches P with
probability 3^-n and then shows the sign with bias alpha, so N* grows like 3^n / alpha^2.

Use it from a sweep config next to this file::

    [sweep]
    task = "pauli-sign"
    plugins = ["pauli_sign"]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from copylearn.pauli import Paulis, parse_paulis
from copylearn.states import PauliMixedState
from copylearn.tasks import Learner, Parameter, ParameterError, Task, register_task


def _alpha(value):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number in (0, 1]: use e.g. alpha = 0.5.")
    if not 0.0 < float(value) <= 1.0:
        raise ValueError(f"{value!r} is not a number in (0, 1]: use e.g. alpha = 0.5.")
    return float(value)


@dataclass(frozen=True)
class SignInstance:
    """The trial's state and its known Pauli (as a one-element query set)."""

    state: PauliMixedState
    query: Paulis


class SignLearner(Learner):
    """Folds in the shadow sums of P; a prefix succeeds when sign(mean) == s."""

    def __init__(self, protocol, instance: SignInstance) -> None:
        self.protocol, self.instance = protocol, instance
        self.running = 0.0

    def judge(self, data, ends, totals):
        s1, _ = self.protocol.sums(self.instance.query, data, ends)
        sums = self.running + s1[:, 0]
        self.running = float(sums[-1])
        return np.sign(sums) == self.instance.state.sign


@register_task
class PauliSign(Task):
    """Name the hidden sign s of rho = (I + alpha s P)/2^n for a known P."""

    name = "pauli-sign"
    description = "name the hidden sign of tr(P rho) for a known Pauli P (example plug-in)"
    parameters = (Parameter("alpha", 0.5, _alpha, "bias of rho = (I + alpha s P)/2^n, in (0, 1]"),)
    protocols = ("pauli-shadow",)

    def check_spec(self, spec):
        super().check_spec(spec)
        if spec.get("calibration_copies", 0):
            raise ParameterError(
                "calibration_copies",
                "the pauli-sign learner has no noise-calibrated rule: use calibration_copies = 0.",
            )

    def circuit_family(self, spec):
        return PauliMixedState("Z" * spec["n"])

    def sample_instance(self, spec, rng):
        n = spec["n"]
        pauli = "".join(rng.choice(list("XYZ"), size=n))
        state = PauliMixedState(pauli, alpha=spec["alpha"], sign=int(rng.choice([-1, 1])))
        return SignInstance(state, parse_paulis([pauli], n))

    def learner(self, spec, protocol, instance, calibration):
        return SignLearner(protocol, instance)

    def expected_copies(self, spec, protocol):
        return 10.0 * 3.0 ** spec["n"] / spec["alpha"] ** 2
