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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from copylearn.errors import CopylearnError
from copylearn.pauli import Paulis, letter_codes
from copylearn.seeding import substream

LETTERS = "XYZ"


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
    """

    protocol: str
    n: int
    copies: int
    damping: np.ndarray
    stderr: np.ndarray

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
            "states": "random eigenstates of L on every qubit of every copy, L in X, Y, Z",
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
        except (KeyError, TypeError, ValueError) as exc:
            raise CopylearnError(f"calibration record is malformed ({exc!r}).") from None
        if damping.shape != (n, 3) or stderr.shape != (n, 3):
            raise CopylearnError(f"calibration record: damping and stderr must be ({n}, 3).")
        if not (np.all(np.isfinite(damping)) and np.all(stderr >= 0)):
            raise CopylearnError("calibration record holds non-finite dampings or negative errors.")
        return cls(protocol, n, copies, damping, stderr)

    def __str__(self) -> str:
        lines = [f"calibration ({self.protocol}, {self.copies} copies): damping d_i(L) +- se"]
        lines.append("qubit  " + "  ".join(f"{L:>17}" for L in LETTERS))
        for i in range(self.n):
            cells = (
                f"{d:8.5f} +- {s:.5f}" for d, s in zip(self.damping[i], self.stderr[i], strict=True)
            )
            lines.append(f"{i:>5}  " + "  ".join(f"{c:>17}" for c in cells))
        return "\n".join(lines)


def measure(collector, copies: int, root: np.random.SeedSequence) -> Calibration:
    """Run ``collector``'s noisy protocol on known random eigenstates and fit the damping.

    For each letter L, every qubit of every copy is prepared, shot by shot, in a uniformly
    random eigenstate of L (:class:`~copylearn.states.PauliEigenstate` with ``sign=0``),
    and the drawn signs are read back from the executed parameters. The damping is the
    sign-corrected mean: of s_A s_B f_{L_i} for Bell sampling, of s_i x_{L_i} for shadows.

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
    """
    from copylearn.data import _pm1_stderr
    from copylearn.pauli import bell_values, parse_paulis, shadow_values
    from copylearn.protocols import get_protocol
    from copylearn.states import PauliEigenstate

    n, protocol = collector.n, collector.protocol
    per_shot = get_protocol(protocol).COPIES_PER_SHOT
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
        if protocol == "bell":
            f = bell_values(singles, data["m_a"], data["m_b"]).astype(np.float64)
            w = _signs(data["values"], names, "a_", n) * _signs(data["values"], names, "b_", n) * f
            mean = w.mean(axis=0)
            damping[:, j] = mean
            stderr[:, j] = _pm1_stderr(mean, w.var(axis=0, ddof=1), shots)
        else:
            x = shadow_values(singles, data["bases_x"], data["bases_z"], data["bits"])
            w = _signs(data["values"], names, "", n) * x
            damping[:, j] = w.mean(axis=0)
            stderr[:, j] = w.std(axis=0, ddof=1) / np.sqrt(shots)
    return Calibration(protocol, n, 3 * shots * per_shot, damping, stderr)


def _signs(values: np.ndarray, names: tuple[str, ...], prefix: str, n: int) -> np.ndarray:
    """``(shots, n)`` prepared eigenvalues +-1 from the flip columns ``prefix + flip{i}``."""
    columns = [names.index(f"{prefix}flip{i}") for i in range(n)]
    return 1.0 - 2.0 * values[:, columns]
