"""Noise-aware estimation: measure a protocol's damping on known states and divide it out.

As robust classical shadows do (Chen, Yu, Zeng, Flammia 2021), the noisy protocol is run on
states the learner knows: for each letter L in X, Y, Z, every qubit of every copy in a random
eigenstate of L drawn per shot, with the drawn signs kept (:class:`copylearn.states.
PauliEigenstate` with ``sign=0``, prepared by the same circuit family, on the same qubits,
with the same noise as the unknown state). For every qubit i and letter L this measures the
damping d_i(L) of a single-qubit Pauli:

* single-copy shadows: the mean of s_i x_{L_i} (sign s_i of the prepared eigenstate, x the
  shadow estimate of L_i) is d_i(L) (ideal: 1);
* Bell sampling: the mean of s_{A,i} s_{B,i} f_{L_i} is d_i(L), the damping of
  tr(L_i rho)^2 (ideal: 1).

Drawing the signs at random averages the damping over every eigenstate pair the unknown state
may put on a Bell pair: on a simulated Sycamore, opposite-sign pairs (|+->, |-+>) lose about
10% more of f_X and f_Z than equal-sign pairs, because the coherent swap error of the
two-qubit gate acts on the |01>, |10> subspace; a calibration on equal signs only would
under-correct by about 2% per qubit. For noise that acts qubit by qubit (or Bell pair by Bell
pair) as a Pauli channel (depolarizing, bit flips, storage noise) a Pauli Q is damped by
exactly D(Q) = prod_{i in supp Q} d_i(Q_i), and the calibrated estimate raw / D(Q) is
unbiased up to the calibration's own error; for other noise it is a first-order correction.

Standard errors of calibrated estimates combine the raw estimate's error with the
calibration's (delta method): the relative variance of D(Q) is the sum of the relative
variances of its factors.

What a calibrated estimate targets depends on the state family (``target`` in the metadata):

* :class:`~copylearn.states.PauliMixedState` and :class:`~copylearn.states.PauliEigenstate`
  (``"ideal"``): the calibration states share the state's preparation circuit, qubits and
  noise, so the correction divides out preparation, storage and measurement-stage noise
  together; the estimate targets the noiseless state.
* :class:`~copylearn.states.CircuitState` (``"as-prepared"``): the user's circuit is not the
  calibration's, so its preparation noise cannot be measured on known states. The
  calibration states are prepared without noise (the preparation moments execute noiselessly,
  the noise model acts from the storage moment on), and the correction divides out only the
  storage noise and the protocol's own measurement stage (the basis rotations, or CNOT and H
  across the copies, and readout). The estimate targets the state as the noisy circuit
  prepares it: the circuit's moments with the noise model attached.
* A :class:`~copylearn.states.CircuitState` on a device is refused: compilation merges the
  preparation into the measurement stage's gates, and copies A and B sit on qubits with
  different noise, so there is no single prepared state to target.

Noise that is not a Pauli channel (amplitude damping, device noise, a ``cirq.NoiseModel``
that copylearn cannot check) gets a :class:`CalibrationWarning`: its average damping is
divided out, its additive bias is not. A calibrated value outside the physical range
([-1, 1] for tr(Q rho), [0, 1] for tr(Q rho)^2) is clipped to it and the estimate's method
says how many were; the standard error stays that of the unclipped value (the clipped
estimate is no farther from the truth). If an unclipped value lies more than
:data:`OUT_OF_RANGE_Z` standard errors outside, a :class:`CalibrationWarning` names it: the
correction does not describe that noise.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from copylearn.errors import CopylearnError
from copylearn.pauli import Paulis, letter_codes
from copylearn.seeding import substream

LETTERS = "XYZ"

# What a calibrated estimate targets, by key (metadata ``calibration.target``).
TARGETS = {
    "ideal": (
        "the noiseless state: the calibration states share its preparation circuit, so "
        "preparation, storage and measurement-stage noise are divided out"
    ),
    "as-prepared": (
        "the state as the noisy circuit prepares it (its preparation noise included): the "
        "calibration states are prepared without noise, so only storage noise and the "
        "protocol's measurement stage (basis rotations or CNOT+H across copies, readout) are "
        "divided out"
    ),
}
# A clipped calibrated value this many standard errors outside the physical range warns.
OUT_OF_RANGE_Z = 3.0
# The physical range of each calibrated quantity.
PHYSICAL_RANGE = {"tr(Q rho)": (-1.0, 1.0), "tr(Q rho)^2": (0.0, 1.0)}


class CalibrationWarning(UserWarning):
    """A calibrated estimate is a first-order correction only, or was clipped far outside."""


@dataclass(frozen=True)
class Calibration:
    """Per-qubit damping of each Pauli letter, measured on known states.

    Attributes
    ----------
    protocol : str
        The protocol calibrated (``"bell"`` or ``"pauli-shadow"``).
    n : int
        Qubits per copy.
    copies : int
        Copies consumed by the calibration, all three letters together.
    damping : np.ndarray
        ``(n, 3)``: d_i(L) for letters X, Y, Z. For Bell data it damps tr(Q rho)^2, for
        shadows tr(Q rho).
    stderr : np.ndarray
        ``(n, 3)`` standard errors of ``damping``.
    target : {"ideal", "as-prepared"}
        Which state a calibrated estimate targets (:data:`TARGETS`).
    """

    protocol: str
    n: int
    copies: int
    damping: np.ndarray
    stderr: np.ndarray
    target: str = "ideal"

    def site_table(self) -> tuple[np.ndarray, np.ndarray]:
        """``(n, 4)`` per-site dampings and errors by letter code I, X, Y, Z (I: 1 +- 0)."""
        ones, zeros = np.ones((self.n, 1)), np.zeros((self.n, 1))
        return np.hstack([ones, self.damping]), np.hstack([zeros, self.stderr])

    def factors(self, paulis: Paulis) -> tuple[np.ndarray, np.ndarray]:
        """The damping D(Q) of each Pauli and its relative standard error.

        Returns
        -------
        (np.ndarray, np.ndarray)
            ``D(Q) = prod_i d_i(Q_i)`` over the support of Q, and
            ``sqrt(sum_i (se_i / d_i)^2)``, one entry per Pauli.
        """
        if paulis.n != self.n:
            raise CopylearnError(
                f"the calibration is for n = {self.n} qubits, the observables have {paulis.n}."
            )
        table, errors = self.site_table()
        codes = letter_codes(paulis)  # (M, n): I=0, X=1, Y=2, Z=3
        sites = np.arange(self.n)
        d, se = table[sites, codes], errors[sites, codes]
        with np.errstate(divide="ignore", invalid="ignore"):
            rel2 = (se / d) ** 2
        return np.prod(d, axis=1), np.sqrt(rel2.sum(axis=1))

    def correct(
        self, values: np.ndarray, stderr: np.ndarray, paulis: Paulis, power: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Divide estimates by D(Q)**power; standard errors by the delta method.

        ``power`` is how the estimated quantity scales with the calibrated one (1 for the
        quantity the protocol damps, 2 for the shadow estimate of tr(Q rho)^2, 1/2 for
        Bell's |tr(Q rho)|). A fractional power of a non-positive damping gives NaN.
        """
        d, rel = self.factors(paulis)
        if float(power).is_integer():
            scale = d ** int(power)
        else:  # a root of a negative damping means nothing: NaN
            scale = np.where(d > 0, np.abs(d) ** power, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = values / scale
            err = np.sqrt((stderr / np.abs(scale)) ** 2 + (out * power * rel) ** 2)
        return out, err

    def check_resolved(self, paulis: Paulis) -> None:
        """Refuse a calibration whose damping on ``paulis``' letters is not resolved from 0.

        Every factor d_i(Q_i) used must exceed 3 standard errors; otherwise dividing by it
        amplifies noise without bound (or flips signs).
        """
        codes = letter_codes(paulis)
        used = np.zeros((self.n, 3), dtype=bool)
        for j in range(3):
            used[:, j] = np.any(codes == j + 1, axis=0)
        weak = used & (self.damping <= 3 * self.stderr)
        if weak.any():
            i, j = (int(v[0]) for v in np.nonzero(weak))
            raise CopylearnError(
                f"the measured damping of {LETTERS[j]} on qubit {i} is "
                f"{self.damping[i, j]:.4f} +- {self.stderr[i, j]:.4f}, not resolved from 0: the "
                "noise erases that signal; lower the noise or raise the calibration copies."
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (kept in dataset metadata under ``"calibration"``)."""
        return {
            "protocol": self.protocol,
            "n": self.n,
            "copies": self.copies,
            "states": "random eigenstates of L on every qubit of every copy, L in X, Y, Z"
            + (", prepared without noise" if self.target == "as-prepared" else ""),
            "target": self.target,
            "target_description": TARGETS[self.target],
            "letters": LETTERS,
            "damping": self.damping.tolist(),
            "stderr": self.stderr.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Calibration:
        """Rebuild from :meth:`to_dict` output, checking shapes and values."""
        try:
            n = int(data["n"])
            damping = np.asarray(data["damping"], dtype=np.float64)
            stderr = np.asarray(data["stderr"], dtype=np.float64)
            protocol, copies = str(data["protocol"]), int(data["copies"])
            target = str(data.get("target", "ideal"))  # records before targets were ideal
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CopylearnError(f"calibration record is malformed ({exc!r}).") from None
        if target not in TARGETS:
            raise CopylearnError(
                f"calibration record: target {target!r} is not one of {', '.join(TARGETS)}."
            )
        if damping.shape != (n, 3) or stderr.shape != (n, 3):
            raise CopylearnError(f"calibration record: damping and stderr must be ({n}, 3).")
        if not (np.all(np.isfinite(damping)) and np.all(stderr >= 0)):
            raise CopylearnError("calibration record holds non-finite dampings or negative errors.")
        return cls(protocol, n, copies, damping, stderr, target)

    def __str__(self) -> str:
        lines = [
            f"calibration ({self.protocol}, {self.copies} copies, target: {self.target} state): "
            "damping d_i(L) +- se"
        ]
        lines.append("qubit  " + "  ".join(f"{L:>17}" for L in LETTERS))
        for i in range(self.n):
            cells = (
                f"{d:8.5f} +- {s:.5f}" for d, s in zip(self.damping[i], self.stderr[i], strict=True)
            )
            lines.append(f"{i:>5}  " + "  ".join(f"{c:>17}" for c in cells))
        return "\n".join(lines)


def plan_target(state, noise, device: str | None) -> str:
    """Decide what a calibration of ``state`` targets; refuse or warn where it cannot apply.

    Called by :func:`copylearn.collect` before any work.

    Parameters
    ----------
    state : PauliMixedState, PauliEigenstate or CircuitState
        The unknown state.
    noise : str, cirq.NoiseModel or None
        The ``noise`` argument of :func:`copylearn.collect`.
    device : str or None
        The ``device`` argument.

    Returns
    -------
    str
        ``"ideal"`` (Pauli family) or ``"as-prepared"`` (a circuit state), see :data:`TARGETS`.

    Raises
    ------
    CopylearnError
        A :class:`~copylearn.states.CircuitState` on a device.

    Warns
    -----
    CalibrationWarning
        Noise that is not a Pauli channel: the correction is first order only.
    """
    from copylearn.noise import resolve_noise
    from copylearn.states import CircuitState

    circuit = isinstance(state, CircuitState)
    if circuit and device is not None:
        raise CopylearnError(
            f"calibration_copies cannot correct a circuit state on device {device!r}: "
            "compilation merges its preparation into the measurement stage and the two copies "
            "sit on qubits with different noise, so there is no prepared state to target; "
            "collect it without calibration_copies, or without device (a noise spec)."
        )
    if device is not None:
        reason = (
            "device noise is not a Pauli channel (coherent two-qubit gate errors, thermal "
            "relaxation, asymmetric readout)"
        )
    else:
        reason = _non_pauli_reason(resolve_noise(noise)[0])
    if reason:
        warnings.warn(
            f"{reason}: calibrated estimates divide out its average damping (a first-order "
            "correction) but not its additive bias.",
            CalibrationWarning,
            stacklevel=3,
        )
    return "as-prepared" if circuit else "ideal"


def _non_pauli_reason(model) -> str | None:
    """Why ``model`` is not a Pauli channel on every qubit, or None if it is (or is absent)."""
    import cirq

    from copylearn.noise import LocalNoise

    if model is None:
        return None
    if isinstance(model, LocalNoise):
        if model.amplitude_damping:
            return "amplitude damping is not a Pauli channel (it pulls qubits towards |0>)"
        return None
    if isinstance(model, cirq.ConstantQubitNoiseModel) and _is_pauli_channel(
        model.qubit_noise_gate
    ):
        return None
    return f"copylearn cannot check that the noise model {type(model).__name__} is a Pauli channel"


def _is_pauli_channel(gate) -> bool:
    """Whether a one-qubit channel's Pauli transfer matrix is diagonal (a Pauli channel)."""
    import cirq

    if cirq.num_qubits(gate) != 1 or not cirq.has_kraus(gate):
        return False
    paulis = [np.eye(2), cirq.unitary(cirq.X), cirq.unitary(cirq.Y), cirq.unitary(cirq.Z)]
    kraus = cirq.kraus(gate)
    ptm = np.array(
        [
            [np.trace(p @ sum(k @ q @ k.conj().T for k in kraus)).real / 2 for q in paulis]
            for p in paulis
        ]
    )
    return bool(np.allclose(ptm, np.diag(np.diag(ptm)), atol=1e-10))


def check_target(metadata: dict[str, Any]) -> None:
    """Refuse a circuit-state calibration recorded before targets existed.

    Such a calibration ran the Pauli preparation circuit with noise and divided its damping
    out of a circuit it does not describe (values above the physical maximum were possible).

    Raises
    ------
    CopylearnError
        ``metadata["calibration"]`` has no ``target`` and the state is a circuit.
    """
    record = metadata.get("calibration")
    state = str(metadata.get("state", ""))
    if isinstance(record, dict) and "target" not in record and state.startswith("circuit:"):
        raise CopylearnError(
            f"this dataset's calibration of {state!r} predates calibration targets: it divided "
            "out preparation noise the circuit does not have; collect it again with "
            "calibration_copies to get a calibration of the state as prepared."
        )


def clip_to_range(
    values: np.ndarray, stderr: np.ndarray, quantity: str, labels: tuple[str, ...]
) -> tuple[np.ndarray, int]:
    """Clip calibrated ``values`` to the physical range of ``quantity``.

    Parameters
    ----------
    values, stderr : np.ndarray
        ``(M,)`` calibrated estimates and their standard errors.
    quantity : str
        ``"tr(Q rho)"`` (range [-1, 1]) or ``"tr(Q rho)^2"`` (range [0, 1]).
    labels : tuple of str
        The observables, for the warning.

    Returns
    -------
    (np.ndarray, int)
        The clipped values (NaN stays NaN) and how many were clipped.

    Warns
    -----
    CalibrationWarning
        Some value lay more than :data:`OUT_OF_RANGE_Z` standard errors outside the range.
    """
    low, high = PHYSICAL_RANGE[quantity]
    with np.errstate(invalid="ignore"):
        excess = np.maximum(values - high, low - values)
        outside = excess > 0
        far = excess > OUT_OF_RANGE_Z * stderr
    if far.any():
        i = int(np.argmax(np.where(far, excess / np.maximum(stderr, 1e-300), -np.inf)))
        warnings.warn(
            f"calibrated {quantity} of {labels[i]} is {values[i]:.4f} +- {stderr[i]:.4f}, more "
            f"than {OUT_OF_RANGE_Z:g} standard errors outside [{low:g}, {high:g}] "
            f"({int(far.sum())} such): the calibration does not describe this noise; clipped.",
            CalibrationWarning,
            stacklevel=4,
        )
    return np.where(outside, np.clip(values, low, high), values), int(outside.sum())


def measure(
    collector, copies: int, root: np.random.SeedSequence, target: str = "ideal"
) -> Calibration:
    """Run ``collector``'s noisy protocol on known random eigenstates and fit the damping.

    For each letter L, every qubit of every copy is prepared, shot by shot, in a uniformly
    random eigenstate of L (:class:`~copylearn.states.PauliEigenstate` with ``sign=0``),
    and the drawn signs are read back from the executed parameters. The damping is the
    sign-corrected mean of the protocol's single-shot values (its
    ``calibration_values`` times the signs of its ``calibration_prefixes``): s_A s_B f_{L_i}
    for Bell sampling, s_i x_{L_i} for shadows.

    Parameters
    ----------
    collector : copylearn.collect.Collector
        Prepared for the Pauli circuit family (:class:`~copylearn.states.PauliMixedState`
        and :class:`~copylearn.states.PauliEigenstate` on n qubits), with the noise and
        placement of the experiment being calibrated.
    copies : int
        Copies per letter (three letters).
    root : numpy.random.SeedSequence
        Seed of the calibration.
    target : {"ideal", "as-prepared"}
        Recorded in the result (:data:`TARGETS`); ``"as-prepared"`` needs a collector
        prepared with ``prep_noise=False``.

    Raises
    ------
    CopylearnError
        The protocol declares no calibration (``Protocol.calibrates`` is False).
    """
    from copylearn.pauli import parse_paulis
    from copylearn.protocols import get_protocol
    from copylearn.states import PauliEigenstate

    n, protocol = collector.n, collector.protocol
    spec = get_protocol(protocol)
    spec.require_calibration()
    per_shot = spec.copies_per_shot
    shots = max(2, copies // per_shot)
    names = collector.parameter_names
    damping = np.zeros((n, 3))
    stderr = np.zeros((n, 3))
    for j, letter in enumerate(LETTERS):
        singles = parse_paulis(["I" * i + letter + "I" * (n - i - 1) for i in range(n)], n)
        seed = substream(root, j)
        (data,), _ = collector.sample_many(
            [PauliEigenstate(letter * n, 0)], shots, [seed], substream(seed, 9), with_values=True
        )
        w = spec.calibration_values(singles, data)
        for prefix in spec.calibration_prefixes():
            w = _signs(data["values"], names, prefix, n) * w
        mean = w.mean(axis=0)
        damping[:, j] = mean
        stderr[:, j] = spec.calibration_stderr(mean, w, shots)
    return Calibration(protocol, n, 3 * shots * per_shot, damping, stderr, target)


def _signs(values: np.ndarray, names: tuple[str, ...], prefix: str, n: int) -> np.ndarray:
    """``(shots, n)`` prepared eigenvalues +-1 from the flip columns ``prefix + flip{i}``."""
    columns = [names.index(f"{prefix}flip{i}") for i in range(n)]
    return 1.0 - 2.0 * values[:, columns]
