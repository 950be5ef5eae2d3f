"""Datasets: raw measurement data kept for later questions ("measure first, ask later").

A :class:`Dataset` holds bit-packed outcomes (and, for shadows, the bases), metadata, and the
estimators (docs/theory.md §3, §4):

* single-copy shadows: ``estimate`` (tr Q rho, mean or median of means), ``estimate_square``
  (unbiased U-statistic for tr(Q rho)^2), ``estimate_abs``;
* Bell sampling: ``estimate_square`` (mean of f_Q, unbiased for tr(Q rho)^2 for every Q
  from the same shots), ``estimate_abs`` (sqrt of the clipped square), ``purity``.

Files are ``.npz`` archives with the metadata as a JSON string, readable with
``allow_pickle=False``; :meth:`Dataset.save` writes atomically.
"""

from __future__ import annotations

import inspect
import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cirq
import numpy as np

from copylearn.atomic import atomic_path
from copylearn.errors import CopylearnError
from copylearn.pauli import (
    Paulis,
    parse_paulis,
    plane_chunks,
    unpack_bits,
)
from copylearn.protocols import Protocol, get_protocol

FORMAT = "copylearn-dataset"
FORMAT_VERSION = 1
MAX_ALL_SQUARES_QUBITS = 12
# The shadow U-statistic's error takes tr(Q rho)^2 at (|mean| + this * se(mean))^2; see
# Dataset.estimate_square.
U_STAT_MU_MARGIN = 1.0


@dataclass(frozen=True)
class Estimates:
    """Estimates of one quantity for several observables, with standard errors.

    Attributes
    ----------
    quantity : str
        What is estimated: ``"tr(Q rho)"``, ``"tr(Q rho)^2"``, ``"|tr(Q rho)|"`` or ``"tr(rho^2)"``.
    observables : tuple of str
        Observable labels (``("I...",)`` for the purity).
    values, stderr : np.ndarray
        Estimates and their standard errors, one per observable.
    shots : int
        Number of shots used.
    method : str
        The estimator used.
    """

    quantity: str
    observables: tuple[str, ...]
    values: np.ndarray
    stderr: np.ndarray
    shots: int
    method: str

    def __getitem__(self, label: str) -> tuple[float, float]:
        """``(value, stderr)`` of one observable."""
        try:
            i = self.observables.index(label)
        except ValueError:
            raise KeyError(f"{label!r} is not among the estimated observables") from None
        return float(self.values[i]), float(self.stderr[i])

    def __len__(self) -> int:
        return len(self.observables)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "quantity": self.quantity,
            "method": self.method,
            "shots": self.shots,
            "estimates": [
                {"observable": o, "value": float(v), "stderr": float(s)}
                for o, v, s in zip(self.observables, self.values, self.stderr, strict=True)
            ],
        }

    def to_pandas(self):
        """A ``pandas.DataFrame``, one row per observable: ``observable``, ``value``,
        ``stderr`` (the columns of :meth:`to_dict`'s ``estimates``), then ``quantity``,
        ``method`` and ``shots``.

        Raises
        ------
        CopylearnError
            pandas is not installed (``pip install 'copylearn[pandas]'``).
        """
        from copylearn.results import require_pandas

        pd = require_pandas("Estimates.to_pandas()")
        return pd.DataFrame(
            {
                "observable": list(self.observables),
                "value": np.asarray(self.values, dtype=float),
                "stderr": np.asarray(self.stderr, dtype=float),
                "quantity": self.quantity,
                "method": self.method,
                "shots": int(self.shots),
            }
        )

    def __str__(self) -> str:
        width = max(len("observable"), *(len(o) for o in self.observables))
        lines = [f"{self.quantity} ({self.method}, {self.shots} shots)"]
        lines.append(f"{'observable':<{width}}  {'estimate':>10}  {'stderr':>9}")
        for o, v, s in zip(self.observables, self.values, self.stderr, strict=True):
            lines.append(f"{o:<{width}}  {v:>10.5f}  {s:>9.5f}")
        return "\n".join(lines)


@dataclass
class Dataset:
    """Measurement data from one collection.

    Attributes
    ----------
    protocol : str
        A registered protocol's name (:func:`copylearn.protocols.get_protocol`), e.g.
        ``"pauli-shadow"`` or ``"bell"``; its estimators are the ones this dataset supports.
    n : int
        Qubits per copy of the state.
    arrays : dict of str to np.ndarray
        Packed ``(shots, n_words(n))`` uint64 arrays, the protocol's ``arrays``: ``bits``,
        ``bases_x``, ``bases_z`` (shadows; the eigenvalue of qubit i is ``(-1)^bit_i`` in the
        measured basis) or ``m_a``, ``m_b`` (Bell outcomes of copy A and copy B).
    metadata : dict
        State, protocol, noise, backend, seed, copies, experiments, versions, execution path.
    """

    protocol: str
    n: int
    arrays: dict[str, np.ndarray]
    metadata: dict[str, Any] = field(default_factory=dict)
    _qubits: tuple[cirq.Qid, ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def spec(self) -> Protocol:
        """The registered :class:`~copylearn.protocols.Protocol` that recorded the data, with
        the options it was collected with (``metadata["protocol_options"]``)."""
        return get_protocol(self.protocol).with_options(self.metadata.get("protocol_options"))

    def _group_ends(self) -> np.ndarray | None:
        """End of each group of dependent shots (``Protocol.groups``), or None when every
        shot is its own group (independent shots)."""
        groups = self.spec.groups(self.shots)
        if self.shots == 0 or groups[-1] == self.shots - 1:
            return None
        return np.flatnonzero(np.diff(groups)).astype(np.int64) + 1

    def _refuse_grouped(self, what: str) -> None:
        """Refuse an estimator whose error assumes independent shots on grouped data."""
        if self._group_ends() is not None:
            options = self.metadata.get("protocol_options", {})
            raise CopylearnError(
                f"{what} assumes independent shots, but these {self.protocol} shots come in "
                f"groups that share one random choice ({options}): collect with the default "
                "options (e.g. shots_per_unitary=1), or use estimate() without median_of_means."
            )

    def _require(self, estimator: str) -> Protocol:
        """The protocol, after refusing (one line) an estimator it does not support."""
        spec = self.spec
        spec.require(estimator)
        return spec

    @property
    def shots(self) -> int:
        """Number of experiments (shots) recorded."""
        return int(next(iter(self.arrays.values())).shape[0])

    @property
    def copies(self) -> int:
        """Copies of the state consumed (a Bell experiment consumes two)."""
        return self.shots * self.spec.copies_per_shot

    def __repr__(self) -> str:
        return (
            f"Dataset(protocol={self.protocol!r}, n={self.n}, shots={self.shots}, "
            f"copies={self.copies}, state={self.metadata.get('state')!r}, "
            f"noise={self.metadata.get('noise')!r})"
        )

    @property
    def qubits(self) -> tuple[cirq.Qid, ...]:
        """The state's qubits in order: qubit i of labels and outcomes is ``qubits[i]``.

        Read from ``metadata["qubits"]`` (Cirq JSON of the state's sorted qubits, written by
        :func:`copylearn.collect`). Files written before it was recorded fall back to the
        sorted qubits of ``metadata["state_circuit"]`` (circuit states), else to
        ``cirq.LineQubit(0..n-1)`` (Pauli states, which are prepared on those qubits).

        Raises
        ------
        CopylearnError
            The recorded qubits are not n distinct qubits.
        """
        if self._qubits is None:
            self._qubits = _recorded_qubits(self.metadata, self.n)
        return self._qubits

    # ----- raw shots ---------------------------------------------------------------------
    def outcomes(self) -> dict[str, np.ndarray]:
        """The raw shots, unpacked: one ``uint8`` row per shot, column i = qubit i of the state.

        Column i belongs to ``self.qubits[i]`` (for a circuit state, its i-th sorted qubit;
        qubit 0 is the leftmost letter of a label). Rows are in shot order; any contiguous
        range of rows is an i.i.d. sample.

        Returns
        -------
        dict of str to np.ndarray
            ``"pauli-shadow"``: ``"bases"``, shape ``(shots, n)``, the measured basis of each
            qubit as a letter code X = 1, Y = 2, Z = 3 (the codes of
            :meth:`estimate_all_squares`), and ``"bits"``, shape ``(shots, n)``: the measured
            eigenvalue of qubit i in that basis is ``(-1) ** bits[s, i]`` (0 means +1).

            ``"bell"``: ``"m_a"`` and ``"m_b"``, shape ``(shots, n)``, the outcomes of copy
            A's and copy B's qubit i after CNOT(A_i -> B_i) and H(A_i); the pair
            ``(m_a, m_b)`` = (0, 0), (0, 1), (1, 0), (1, 1) is the Bell state Phi+, Psi+,
            Phi-, Psi- (the singlet).
        """
        return self.spec.unpack(self.arrays, self.n)

    # ----- estimators -------------------------------------------------------------------
    def _paulis(self, observables) -> Paulis:
        if not isinstance(observables, str | Paulis | cirq.PauliString) and isinstance(
            observables, Iterable
        ):
            observables = list(observables)  # a generator is read once, here
        qubits = self.qubits if _has_pauli_string(observables) else None
        return parse_paulis(observables, self.n, qubits=qubits)

    def _sums(self, paulis: Paulis, batches: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Per-batch sums of the single-shot values and their squares, ``(batches, M)`` each.

        Batches are contiguous blocks of shots of equal size; shots left over are dropped.
        Each batch is evaluated bit-sliced, in chunks of 64-shot words (bounded memory).
        """
        size = self.shots // batches
        s1 = np.zeros((batches, len(paulis)))
        s2 = np.zeros((batches, len(paulis)))
        spec = self.spec
        for k in range(batches):
            for chunk in plane_chunks(size, len(paulis)):
                sl = slice(k * size + chunk.start, k * size + chunk.stop)
                t1, t2 = spec.sums(paulis, {name: a[sl] for name, a in self.arrays.items()})
                s1[k] += t1
                s2[k] += t2
        return s1, s2

    @property
    def calibration(self):
        """The :class:`~copylearn.calibration.Calibration` collected with the data, or None."""
        from copylearn.calibration import Calibration

        record = self.metadata.get("calibration")
        return None if record is None else Calibration.from_dict(record)

    def _calibrated(self, estimates: Estimates, paulis: Paulis, power: float) -> Estimates:
        """Divide ``estimates`` by the calibrated damping (see :mod:`copylearn.calibration`)."""
        cal = self.calibration
        if cal is None:
            raise CopylearnError(
                "this dataset has no calibration: collect it with calibration_copies > 0 "
                "(CLI: --calibration-copies N), or pass calibrated=False."
            )
        if cal.protocol != self.protocol or cal.n != self.n:
            raise CopylearnError(
                f"the dataset's calibration is for {cal.protocol} on n = {cal.n}, "
                f"the data are {self.protocol} on n = {self.n}."
            )
        from copylearn.calibration import check_target, clip_to_range

        check_target(self.metadata)
        cal.check_resolved(paulis)  # a damping not resolved from 0 cannot be divided out
        values, stderr = cal.correct(estimates.values, estimates.stderr, paulis, power)
        # Never a silent unphysical value: clip to the range, say so (calibration.py).
        values, clipped = clip_to_range(values, stderr, estimates.quantity, estimates.observables)
        note = f" ({clipped} clipped to the physical range)" if clipped else ""
        return Estimates(
            estimates.quantity,
            estimates.observables,
            values,
            stderr,
            estimates.shots,
            f"{estimates.method}, calibrated{note}",
        )

    def _require_enough_shots(self, needed: int, what: str) -> None:
        if self.shots < needed:
            raise CopylearnError(
                f"{what} needs at least {needed} shots, this dataset has {self.shots}: "
                "collect more copies."
            )

    def estimate(
        self, observables, median_of_means: int | None = None, calibrated: bool = False
    ) -> Estimates:
        """Estimate the signed expectation tr(Q rho) from single-copy shadow data.

        Parameters
        ----------
        observables : str, cirq.PauliString or iterable of them
            Pauli observables on the dataset's n qubits: labels are positional (letter i on
            qubit i), a ``cirq.PauliString`` is mapped by qubit identity onto
            :attr:`qubits`.
        median_of_means : int, optional
            If given, split the shots into this many equal batches and return the median of
            the batch means (HKP20 Alg. 1); the standard error is then the large-sample value
            sqrt(pi/2) * sigma / sqrt(N) (for 1 or 2 batches the median is the mean and the
            error is sigma / sqrt(N); for 3 batches the formula is about 8% conservative).
            Every batch must hold at least the protocol's ``min_batch_shots(|Q|)`` shots for
            the heaviest Q (random-Pauli shadows: ``10 * 3^|Q|``, on average 10 snapshots
            that match Q): below that the batch means are a handful of discrete values and
            the median and its error are meaningless.
        calibrated : bool
            Divide by the damping measured on known states (:mod:`copylearn.calibration`);
            needs a dataset collected with ``calibration_copies > 0``. Standard errors then
            include the calibration's.

        Returns
        -------
        Estimates

        Raises
        ------
        CopylearnError
            The protocol does not support tr(Q rho) (Bell data), bad observables, too few
            shots, or too many batches.
        """
        self._require("tr(Q rho)")
        paulis = self._paulis(observables)
        self._require_enough_shots(2, "estimate()")
        direct = self.spec.direct_estimate(paulis, self.arrays)
        if direct is not None:  # e.g. derandomized shadows: the mean over the rounds hitting Q
            if median_of_means is not None or calibrated:
                raise CopylearnError(
                    f"protocol {self.protocol!r} estimates by its own mean: leave out "
                    "median_of_means and calibrated."
                )
            values, stderr, shots, method = direct
            return Estimates("tr(Q rho)", paulis.labels, values, stderr, shots, method)
        n = self.shots
        ends = self._group_ends()
        if ends is not None:
            if median_of_means is not None:
                self._refuse_grouped("median_of_means")
            raw = self._grouped_mean(paulis, ends)
            return self._calibrated(raw, paulis, 1.0) if calibrated else raw
        s1, s2 = self._sums(paulis)
        mean = s1[0] / n
        var = np.maximum(s2[0] - n * mean**2, 0.0) / (n - 1)
        if median_of_means is None:
            raw = Estimates("tr(Q rho)", paulis.labels, mean, np.sqrt(var / n), n, "mean")
        else:
            k = _check_batches(median_of_means, n, int(paulis.weight.max()), self.spec, self.n)
            b1, _ = self._sums(paulis, batches=k)
            medians = np.median(b1 / (n // k), axis=0)
            factor = 1.0 if k <= 2 else math.pi / 2  # the median of 1 or 2 means is their mean
            stderr = np.sqrt(factor * var / (k * (n // k)))
            raw = Estimates(
                "tr(Q rho)", paulis.labels, medians, stderr, k * (n // k), f"median of {k} means"
            )
        return self._calibrated(raw, paulis, 1.0) if calibrated else raw

    def _grouped_mean(self, paulis: Paulis, ends: np.ndarray) -> Estimates:
        """The mean of the single-shot values with a group-level standard error.

        Shots of one group (``Protocol.groups``: R shots under one random Clifford) are
        correlated, so the N shots are not N independent draws. The G group totals T_g are
        independent; the mean is sum_g T_g / N, with variance estimated by
        G / (G - 1) sum_g (T_g - R_g mean)^2 / N^2 (the ratio-estimator variance of
        cluster sampling, unbiased to O(1/G); docs/theory.md §13.4).

        Raises
        ------
        CopylearnError
            Fewer than two groups.
        """
        n = self.shots
        g = len(ends) + 1
        if g < 2:
            raise CopylearnError(
                f"estimate() needs at least 2 groups of shots for an error bar, this dataset has "
                f"{g}: collect more copies."
            )
        values = self.spec.sums_values(paulis, self.arrays)  # (shots, M)
        starts = np.concatenate([[0], ends])
        totals = np.add.reduceat(values, starts, axis=0)  # (G, M)
        sizes = np.diff(np.concatenate([starts, [n]]))[:, None]
        mean = values.sum(axis=0) / n
        var = g / (g - 1) * ((totals - sizes * mean) ** 2).sum(axis=0) / n**2
        return Estimates("tr(Q rho)", paulis.labels, mean, np.sqrt(var), n, f"mean over {g} groups")

    def estimate_square(self, observables, calibrated: bool = False) -> Estimates:
        """Unbiased estimate of tr(Q rho)^2 with its standard error.

        Bell data: the mean of f_Q (docs/theory.md §4.2), with the sample standard error (or,
        if every shot agreed, the binomial error at the Jeffreys estimate, scaled to the
        protocol's value range ``Protocol.value_bound``: partial-bell's f_Q is 0 or +-c,
        docs/theory.md §20.2). Shadow data: the
        U-statistic (S1^2 - S2) / (N (N - 1)) over pairs of distinct snapshots (docs/theory.md
        §3.3). Its standard error is the U-statistic variance
        (4 (N-2) zeta1 + 2 zeta2) / (N (N-1)) with zeta1 = mu^2 sigma^2 and
        zeta2 = E[x^2]^2 - mu^4, mu = tr(Q rho), estimated from the data with mu^2 taken at
        (|mean| + se(mean))^2.

        Calibration of that error (z = (estimate - truth) / stderr), in the large-N limit,
        with delta = |tr(Q rho)| / se(mean): the spread (standard deviation) of z is 0.85 to
        0.96 for delta >= 3 and tends to 1; below it is deliberately conservative: 0.74 at
        delta = 2, 0.47 at delta = 1 and 0.29 at tr(Q rho) = 0. No error bar computed from
        the same shots can be calibrated near zero: there the U-statistic is
        (sigma^2 / N)(Z^2 - 1) for a standard normal Z, and a plug-in mu^2 small enough to
        give spread 1 at tr(Q rho) = 0 (the mean shrunk by 2 se) gives spreads above 2 at
        delta ~ 3, when the mean falls near 0 by chance. The margin of one se(mean) is the
        compromise: it keeps z's tails close to normal at every delta (P(|z| > 5) <= 3e-4;
        with no margin 1e-2, with se/2 2e-3, which 5-standard-error checks do hit) while
        the former margin of 2 se was conservative by 5x at zero (spread 0.20).

        ``calibrated=True`` divides by the damping measured on known states (Bell: D(Q),
        shadows: D(Q)^2; :mod:`copylearn.calibration`).
        """
        spec = self._require("tr(Q rho)^2")
        paulis = self._paulis(observables)
        self._require_enough_shots(2, "estimate_square()")
        self._refuse_grouped("estimate_square()")
        n = self.shots
        s1, s2 = self._sums(paulis)
        s1, s2 = s1[0], s2[0]
        mean = s1 / n
        var = np.maximum(s2 - n * mean**2, 0.0) / (n - 1)
        if spec.statistic == "tr(Q rho)^2":  # the single-shot mean is already unbiased
            raw = Estimates(
                "tr(Q rho)^2",
                paulis.labels,
                mean,
                _pm1_stderr(mean, var, n, spec.value_bound(paulis)),
                n,
                f"{self.protocol} mean",
            )
            return self._calibrated(raw, paulis, 1.0) if calibrated else raw
        u = (s1**2 - s2) / (n * (n - 1))
        # zeta1 = mu^2 sigma^2, with mu^2 at (|mean| + se)^2: the plain mean^2 understates the
        # variance when the mean falls low by chance (heavy tails of z at |mu| ~ 3 se).
        mu_high = np.abs(mean) + U_STAT_MU_MARGIN * np.sqrt(var / n)
        zeta1 = mu_high**2 * var
        zeta2 = (var + mean**2) ** 2 - mean**4
        u_var = (4 * (n - 2) * zeta1 + 2 * zeta2) / (n * (n - 1))
        raw = Estimates(
            "tr(Q rho)^2",
            paulis.labels,
            u,
            np.sqrt(np.maximum(u_var, 0.0)),
            n,
            "shadow U-statistic",
        )
        return self._calibrated(raw, paulis, 2.0) if calibrated else raw

    def estimate_all_squares(self) -> tuple[np.ndarray, np.ndarray]:
        """Bell data: unbiased tr(Q rho)^2 for all 4^n Pauli strings at once (n <= 12).

        One fast Walsh-Hadamard transform of the 2n-bit outcome histogram gives every mean
        of f_Q(m) = (-1)^{#Y(Q)} (-1)^{q.m} (docs/theory.md §4.5) in O(n 4^n).

        Returns
        -------
        (np.ndarray, np.ndarray)
            Estimates and standard errors, each of shape ``(4,) * n`` indexed by the letter
            codes I = 0, X = 1, Y = 2, Z = 3 of qubits 0..n-1: ``values[1, 2, 3, 0]`` is
            tr(XYZI rho)^2. The identity entry is 1.
        """
        spec = self._require("all tr(Q rho)^2")
        if self.n > MAX_ALL_SQUARES_QUBITS:
            raise CopylearnError(
                f"estimate_all_squares() holds 4^n values and is limited to n <= "
                f"{MAX_ALL_SQUARES_QUBITS} (n = {self.n}): use estimate_square() on a query set."
            )
        self._require_enough_shots(2, "estimate_all_squares()")
        shots = self.shots
        codes = spec.outcome_codes(self.arrays, self.n)
        values = walsh_squares(np.bincount(codes, minlength=4**self.n), self.n)
        var = np.maximum(1.0 - values**2, 0.0) * shots / (shots - 1)
        return values, _pm1_stderr(values, var, shots)

    def estimate_abs(self, observables, calibrated: bool = False) -> Estimates:
        """Estimate |tr(Q rho)|.

        Bell data: sqrt(max(0, mean f_Q)); the standard error is the delta-method value
        se / (2 * estimate), capped at sqrt(se) near zero. Shadow data: |mean| with the mean's
        standard error. Both are biased upwards near zero (a square root, an absolute value).
        ``calibrated=True`` starts from the calibrated square (Bell) or mean (shadows).

        Values are clipped to the physical range [0, 1] (a shadow mean of 100 shots can exceed
        1 in magnitude); the standard error is that of the unclipped estimate.
        """
        if self._require("|tr(Q rho)|").statistic == "tr(Q rho)^2":
            sq = self.estimate_square(observables, calibrated=calibrated)
            values = np.sqrt(np.clip(sq.values, 0.0, 1.0))
            cap = np.sqrt(sq.stderr)
            with np.errstate(divide="ignore", invalid="ignore"):
                stderr = np.where(values > 0, np.minimum(sq.stderr / (2 * values), cap), cap)
            method = "sqrt of bell mean" + (", calibrated" if calibrated else "")
            return Estimates("|tr(Q rho)|", sq.observables, values, stderr, sq.shots, method)
        signed = self.estimate(observables, calibrated=calibrated)
        return Estimates(
            "|tr(Q rho)|",
            signed.observables,
            np.minimum(np.abs(signed.values), 1.0),
            signed.stderr,
            signed.shots,
            "abs of shadow mean" + (", calibrated" if calibrated else ""),
        )

    def purity(self) -> Estimates:
        """Estimate tr(rho^2), unbiased, by the protocol's estimator.

        Bell data: the mean of (-1)^{number of singlet outcomes} (docs/theory.md §4.4);
        random-Pauli shadows: the randomized-measurement U-statistic over pairs of snapshots
        (§14.4); data of shots sharing random Clifford bases: the collision rate (§14.3).
        """
        spec = self._require("tr(rho^2)")
        self._require_enough_shots(2, "purity()")
        value, stderr, method = spec.purity_estimate(self.arrays, self.n)
        return Estimates(
            "tr(rho^2)", ("I" * self.n,), np.array([value]), np.array([stderr]), self.shots, method
        )

    def estimate_principal_ratio(self, observables) -> Estimates:
        """Bell data: the self-normalised ratio R_Q = sum_t f_Q sigma_t / sum_t sigma_t.

        f_Q is Bell sampling's single-shot value of Q (mean tr(Q rho)^2, docs/theory.md §4.2)
        and sigma_t = (-1)^{number of singlets} (mean tr(rho^2), §4.4); the mean of their
        product is tr(Q rho Q rho) (§19.3), so R_Q is a consistent (bias O(1/K)) estimate of
        tr(Q rho Q rho) / tr(rho^2), which is 1 for a Pauli that fixes the principal
        component and O(2^-n) for a typical other one, whatever the noise weight (§19.3).

        The standard error is the delta method's:
        Var R ~ [Var(f sigma) - 2 R Cov(f sigma, sigma) + R^2 Var(sigma)] / (K mean(sigma)^2)
        with sample (co)variances over the K shots. When sum sigma <= 0 the ratio is not
        defined: its value is NaN and its error infinite. When every shot gave the same f_Q
        (e.g. 2 shots, or a Pauli that fixes a pure state) that variance is 0, and the error
        is not: as for ``estimate_square``'s Bell data, an unseen f_Q at the far end of
        [-1, 1] with the Jeffreys probability p = 0.5 / (K + 1) gives the numerator
        (1 + |R|)^2 p (1 - p) (docs/theory.md §19.3).

        Raises
        ------
        CopylearnError
            Data of a protocol without the ratio (single-copy data, one line), fewer than 2
            shots, or malformed observables.
        """
        spec = self._require("tr(Q rho Q rho)/tr(rho^2)")
        paulis = self._paulis(observables)
        self._require_enough_shots(2, "estimate_principal_ratio()")
        k = self.shots
        sy = np.zeros(len(paulis))
        syy, sxy = np.zeros(len(paulis)), np.zeros(len(paulis))
        sx = sxx = 0.0
        f_low, f_high = np.full(len(paulis), np.inf), np.full(len(paulis), -np.inf)
        for chunk in plane_chunks(k, len(paulis)):
            part = {name: a[chunk] for name, a in self.arrays.items()}
            x = spec.purity_values(part)
            f = spec.sums_values(paulis, part)
            y = f * x[:, None]
            f_low, f_high = np.minimum(f_low, f.min(axis=0)), np.maximum(f_high, f.max(axis=0))
            sx, sxx = sx + float(x.sum()), sxx + float(x @ x)
            sy, syy, sxy = sy + y.sum(axis=0), syy + (y * y).sum(axis=0), sxy + x @ y
        mx, my = sx / k, sy / k
        vx = (sxx - k * mx**2) / (k - 1)
        vy = (syy - k * my**2) / (k - 1)
        cxy = (sxy - k * mx * my) / (k - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(sx > 0, sy / sx, np.nan)
            var = (vy - 2 * ratio * cxy + ratio**2 * vx) / (k * mx**2)
            # Every shot gave the same f_Q: y - R x is 0 on every shot, its sample variance
            # too; the unseen f_Q at the far end of [-1, 1] (Jeffreys p) bounds it instead.
            p = 0.5 / (k + 1)
            floor = (1.0 + np.minimum(np.abs(ratio), 1.0)) ** 2 * p * (1.0 - p) / (k * mx**2)
            var = np.where(f_low == f_high, floor, var)
            stderr = np.where(sx > 0, np.sqrt(np.maximum(var, 0.0)), np.inf)
        return Estimates(
            "tr(Q rho Q rho)/tr(rho^2)",
            paulis.labels,
            ratio,
            stderr,
            k,
            "bell ratio sum(f sigma)/sum(sigma), delta-method error",
        )

    # ----- persistence ------------------------------------------------------------------
    def save(self, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
        """Write the dataset to ``path`` (``.npz``) atomically; returns the path written.

        Parameters
        ----------
        path : str or path-like
            The file; ``.npz`` is appended when the name does not end in it (as
            ``numpy.savez`` does). Missing parent directories are created.
        overwrite : bool
            Replace an existing file (default). With False the file is created exclusively:
            if it exists, before or at the moment of writing, nothing is overwritten.

        Raises
        ------
        CopylearnError
            ``path`` is not a path, is a directory, lies under a file or cannot be written,
            or exists and ``overwrite`` is False.
        """
        from copylearn.paths import check_output_file

        if isinstance(path, str | os.PathLike) and not isinstance(path, bytes):
            path = Path(path)
            if path.suffix != ".npz" and not path.is_dir():
                path = path.with_name(path.name + ".npz")
        path = check_output_file(
            path,
            force=overwrite,
            what="save():",
            replace_hint="pass overwrite=True (--force on the command line)",
        )
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "protocol": self.protocol,
            "n": self.n,
        }
        payload = {
            "header": np.array(json.dumps(header)),
            "metadata": np.array(json.dumps(self.metadata, sort_keys=True)),
            **{f"array_{k}": v for k, v in self.arrays.items()},
        }
        with atomic_path(path, exclusive=not overwrite) as tmp:
            np.savez_compressed(tmp, **payload)
        return path


def bell_outcome_codes(m_a: np.ndarray, m_b: np.ndarray, n: int) -> np.ndarray:
    """Per-shot outcome codes in [0, 4^n): qubit i contributes the base-4 digit 2 m_A + m_B,
    qubit 0 most significant. ``m_a``, ``m_b`` are packed ``(N, W)`` outcome words."""
    a = unpack_bits(m_a, n).astype(np.int64)
    b = unpack_bits(m_b, n).astype(np.int64)
    code = np.zeros(a.shape[0], dtype=np.int64)
    for i in range(n):
        code = code * 4 + 2 * a[:, i] + b[:, i]
    return code


def walsh_squares(histogram: np.ndarray, n: int) -> np.ndarray:
    """Means of f_Q for all 4^n Paulis from a histogram of Bell outcome codes.

    One fast Walsh-Hadamard transform over the 2n outcome bits (docs/theory.md §4.5):
    mean f_Q = (-1)^{#Y(Q)} sum_m p(m) (-1)^{q.m}. Returns shape ``(4,) * n`` indexed by
    the letter codes I = 0, X = 1, Y = 2, Z = 3 of qubits 0..n-1.
    """
    spectrum = np.asarray(histogram, dtype=np.float64).copy()
    total = spectrum.sum()
    for k in range(2 * n):  # in-place Hadamard butterfly on each of the 2n bits
        view = spectrum.reshape(-1, 2, 2**k)
        low = view[:, 0, :].copy()
        view[:, 0, :] += view[:, 1, :]
        view[:, 1, :] = low - view[:, 1, :]
    means = (spectrum / total).reshape((4,) * n)
    # Transform digit 2x + z is the symplectic pair (x, z); reorder digits to I, X, Y, Z.
    letters = [0, 2, 3, 1]  # I=(0,0)->0, X=(1,0)->2, Y=(1,1)->3, Z=(0,1)->1
    means = means[np.ix_(*([letters] * n))]
    y_count = sum(
        np.reshape(np.array([0, 0, 1, 0]), [4 if j == i else 1 for j in range(n)]) for i in range(n)
    )
    return means * (1 - 2 * (y_count & 1))


def _pm1_stderr(mean: np.ndarray, var: np.ndarray, n: int, bound: Any = 1.0) -> np.ndarray:
    """Standard error of the mean of n values in [-bound, bound] (default: {+1, -1}).

    The sample variance is used, except when every shot agreed (variance 0): the error is
    then not zero, and the error of a two-point law is reported instead: the observed value
    and an unseen one at the far end of the range, bound + |mean| away (2 for +-1 values),
    with the Jeffreys point estimate p = 0.5 / (n + 1) of the unseen outcome's probability,
    variance (bound + |mean|)^2 p (1 - p).

    Parameters
    ----------
    mean, var : np.ndarray, shape (M,)
        Sample means and variances of the single-shot values.
    n : int
        Shots (>= 1).
    bound : float or np.ndarray of shape (M,)
        The largest |single-shot value| (``Protocol.value_bound``).
    """
    p = 0.5 / (n + 1)
    bound = np.asarray(bound, dtype=float)
    far = bound + np.minimum(np.abs(mean), bound)
    floor = far**2 * p * (1.0 - p)
    return np.sqrt(np.where(var > 0, var, floor) / n)


def _with_n(method, weight: int, qubits: int | None):
    """``method(weight, qubits)``, or ``method(weight)`` for a plug-in written before the
    batch rule took n."""
    if len(inspect.signature(method).parameters) >= 2:
        return method(weight, qubits)
    return method(weight)


def _check_batches(k, n: int, weight: int, spec: Protocol, qubits: int | None = None) -> int:
    """Validate the number of median-of-means batches for ``n`` shots and a max weight.

    The smallest batch is the protocol's rule (``Protocol.min_batch_shots``).
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= n:
        raise CopylearnError(
            f"median_of_means={k!r} must be an integer number of batches between 1 and the "
            f"number of shots ({n})."
        )
    k = int(k)
    need = _with_n(spec.min_batch_shots, weight, qubits) if k > 1 else 1
    if n // k < need:
        most = n // need
        fix = f"use median_of_means <= {most}" if most >= 1 else "use the plain mean"
        rule = _with_n(spec.batch_rule, weight, qubits)
        raise CopylearnError(
            f"median_of_means={k} leaves {n // k} shots per batch, but an observable of weight "
            f"{weight} needs at least {rule}: {fix}, or collect more copies."
        )
    return k


def _has_pauli_string(observables) -> bool:
    if isinstance(observables, cirq.PauliString):
        return True
    if isinstance(observables, str | Paulis) or not isinstance(observables, list | tuple):
        return False
    # ``type(o) is not str`` first: isinstance against cirq.PauliString is slow per label.
    return any(type(o) is not str and isinstance(o, cirq.PauliString) for o in observables)


def _recorded_qubits(metadata: dict[str, Any], n: int) -> tuple[cirq.Qid, ...]:
    """The state's qubits from dataset metadata; see :attr:`Dataset.qubits`."""
    if "qubits" in metadata:
        try:
            qubits = cirq.read_json(json_text=metadata["qubits"])
        except Exception as exc:  # cirq's JSON reader raises many kinds on malformed input
            raise CopylearnError(
                f"the dataset's recorded qubits are unreadable ({exc.__class__.__name__}): "
                "re-collect it, or delete metadata['qubits'] to fall back to LineQubit(0..n-1)."
            ) from None
        if (
            not isinstance(qubits, list)
            or len(qubits) != n
            or not all(isinstance(q, cirq.Qid) and q.dimension == 2 for q in qubits)
            or len(set(qubits)) != n
        ):
            raise CopylearnError(
                f"the dataset's recorded qubits {str(metadata['qubits'])[:80]!r} are not {n} "
                "distinct qubits: re-collect it, or delete metadata['qubits']."
            )
        return tuple(qubits)
    if "state_circuit" in metadata:
        try:
            circuit = cirq.read_json(json_text=metadata["state_circuit"])
            qubits = tuple(sorted(circuit.all_qubits()))
        except Exception:  # an older file's unreadable circuit: fall back below
            qubits = ()
        if len(qubits) == n:
            return qubits
    return tuple(cirq.LineQubit.range(n))


def load(path: str | os.PathLike) -> Dataset:
    """Load a dataset written by :meth:`Dataset.save` (never unpickles anything).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file.

    Returns
    -------
    Dataset

    Raises
    ------
    CopylearnError
        The path is not a str/PathLike, is missing or a directory, or the file is unreadable,
        corrupt (any damage the zip checksums or the checks here detect), or not a copylearn
        dataset. Every failure is this one error with a one-line message.
    """
    if not isinstance(path, str | os.PathLike):
        raise CopylearnError(
            f"load() needs a file path (str or os.PathLike), got {type(path).__name__}: pass "
            "the path of a .npz file written by Dataset.save()."
        )
    path = Path(path)
    if path.is_dir():
        raise CopylearnError(
            f"dataset path {str(path)!r} is a directory, not a dataset file: give the .npz "
            "file inside it."
        )
    if not path.exists():
        raise CopylearnError(f"dataset file {str(path)!r} does not exist: check the path.")
    if not path.is_file():
        raise CopylearnError(f"dataset path {str(path)!r} is not a regular file: check the path.")
    bad = f"{str(path)!r} is not a readable copylearn dataset"
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            header = _json_member(archive, "header")
            metadata = _json_member(archive, "metadata")
            arrays = {
                k.removeprefix("array_"): np.asarray(archive[k])
                for k in archive.files
                if k.startswith("array_")
            }
    except CopylearnError:
        raise
    except Exception as exc:
        # A damaged archive fails in many ways (zipfile.BadZipFile on a checksum, zlib.error,
        # NotImplementedError for a garbled compression method, EOFError, ValueError, ...);
        # every one of them means the same thing to the user.
        raise CopylearnError(
            f"{bad} ({exc.__class__.__name__}): the file is damaged or not a dataset; "
            "re-collect or restore it."
        ) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CopylearnError(
            f"{bad}: it has no copylearn header; was it written by Dataset.save()?"
        )
    if header.get("version") != FORMAT_VERSION:
        raise CopylearnError(
            f"{bad}: format version {header.get('version')!r}, this copylearn reads "
            f"{FORMAT_VERSION}; upgrade copylearn."
        )
    protocol, n = header.get("protocol"), header.get("n")
    try:
        names = get_protocol(protocol).arrays
    except CopylearnError:
        names = None
    if names is None and isinstance(protocol, str) and protocol:
        raise CopylearnError(
            f"{bad}: its protocol {protocol!r} is not registered here: if a plug-in defines it, "
            "import that plug-in first (CLI: --plugins MODULE; Python: import it)."
        )
    if names is None or isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise CopylearnError(f"{bad}: header names protocol {protocol!r} and n={n!r}.")
    if not isinstance(metadata, dict):
        raise CopylearnError(
            f"{bad}: its metadata is a JSON {type(metadata).__name__}, not an object; "
            "re-collect or restore it."
        )
    shapes = {k: arrays[k].shape if k in arrays else None for k in names}
    rows = {s[0] for s in shapes.values() if s is not None and len(s) == 2}
    dtypes = {k: str(arrays[k].dtype) for k in names if k in arrays}
    widths = {k: get_protocol(protocol).array_words(k, n) for k in names}
    if (
        any(s is None or len(s) != 2 or s[1] != widths[k] for k, s in shapes.items())
        or len(rows) != 1
        or any(arrays[k].dtype != np.uint64 for k in names)
    ):
        wanted = sorted({f"(shots, {w})" for w in widths.values()})
        raise CopylearnError(
            f"{bad}: its arrays {shapes} (dtypes {dtypes}) do not fit protocol {protocol!r}, "
            f"n={n} (each must be uint64 of shape {' or '.join(wanted)})."
        )
    arrays = {k: arrays[k] for k in names}
    if n % 64 and any(np.any(a[:, -1] >> np.uint64(n % 64)) for a in arrays.values()):
        raise CopylearnError(f"{bad}: its arrays have bits set beyond qubit {n - 1}.")
    shots = next(iter(rows))
    for key, expected in (("protocol", protocol), ("n", n)):
        if key in metadata and metadata[key] != expected:
            raise CopylearnError(
                f"{bad}: its metadata says {key} = {metadata[key]!r} but its header and arrays "
                f"hold {expected!r}; the file was edited: re-collect or restore it."
            )
    data = Dataset(protocol=protocol, n=n, arrays=arrays, metadata=metadata)
    copies = metadata.get("copies")
    if copies is not None and copies != data.copies:
        raise CopylearnError(
            f"{bad}: its metadata says copies = {copies!r} but it holds {shots} experiments of "
            f"{data.spec.copies_per_shot} copies; the file was edited: re-collect or restore it."
        )
    record = metadata.get("calibration")
    try:  # validate now, not at first use: the recorded qubits and the calibration record
        data.qubits  # noqa: B018
        if record is not None:
            if not isinstance(record, dict):
                raise CopylearnError("its calibration record is not a JSON object")
            if record.get("protocol", protocol) != protocol:
                raise CopylearnError(f"its calibration record is for {record['protocol']!r}")
            cal = data.calibration
            if cal is not None and cal.n != n:
                raise CopylearnError(f"its calibration record is for n = {cal.n}, not {n}")
    except CopylearnError as exc:
        raise CopylearnError(f"{bad}: {exc}") from None
    return data


def _json_member(archive, name: str):
    """The JSON document stored as a 0-d string array ``name`` of an ``.npz`` archive."""
    member = archive[name]
    if member.ndim != 0 or member.dtype.kind != "U":
        raise ValueError(f"{name} is a {member.dtype} array of shape {member.shape}")
    return json.loads(str(member))
