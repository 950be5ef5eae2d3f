"""Datasets: raw measurement data kept for later questions ("measure first, ask later").

A :class:`Dataset` holds bit-packed outcomes (and, for shadows, the bases), metadata, and the
estimators (physics.md §2):

* single-copy shadows: ``estimate`` (tr Q rho, mean or median of means), ``estimate_square``
  (unbiased U-statistic for tr(Q rho)^2), ``estimate_abs``;
* Bell sampling: ``estimate_square`` (mean of f_Q, unbiased for tr(Q rho)^2 for every Q
  from the same shots), ``estimate_abs`` (sqrt of the clipped square), ``purity``.

Files are ``.npz`` archives with the metadata as a JSON string, readable with
``allow_pickle=False``; :meth:`Dataset.save` writes atomically.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from copylearn.atomic import atomic_path
from copylearn.errors import CopylearnError
from copylearn.pauli import (
    Paulis,
    bell_sums,
    n_words,
    parse_paulis,
    plane_chunks,
    popcount,
    shadow_sums,
    unpack_bits,
)

FORMAT = "copylearn-dataset"
FORMAT_VERSION = 1
MAX_ALL_SQUARES_QUBITS = 12
ARRAYS = {"pauli-shadow": ("bits", "bases_x", "bases_z"), "bell": ("m_a", "m_b")}


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
        ``"pauli-shadow"`` or ``"bell"``.
    n : int
        Qubits per copy of the state.
    arrays : dict of str to np.ndarray
        Packed ``(shots, n_words(n))`` uint64 arrays: ``bits``, ``bases_x``, ``bases_z``
        (shadows; the eigenvalue of qubit i is ``(-1)^bit_i`` in the measured basis) or
        ``m_a``, ``m_b`` (Bell outcomes of copy A and copy B).
    metadata : dict
        State, protocol, noise, backend, seed, copies, experiments, versions, execution path.
    """

    protocol: str
    n: int
    arrays: dict[str, np.ndarray]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def shots(self) -> int:
        """Number of experiments (shots) recorded."""
        return int(next(iter(self.arrays.values())).shape[0])

    @property
    def copies(self) -> int:
        """Copies of the state consumed (a Bell experiment consumes two)."""
        return self.shots * (2 if self.protocol == "bell" else 1)

    def __repr__(self) -> str:
        return (
            f"Dataset(protocol={self.protocol!r}, n={self.n}, shots={self.shots}, "
            f"copies={self.copies}, state={self.metadata.get('state')!r}, "
            f"noise={self.metadata.get('noise')!r})"
        )

    # ----- estimators -------------------------------------------------------------------
    def _paulis(self, observables) -> Paulis:
        return parse_paulis(observables, self.n)

    def _sums(self, paulis: Paulis, batches: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Per-batch sums of the single-shot values and their squares, ``(batches, M)`` each.

        Batches are contiguous blocks of shots of equal size; shots left over are dropped.
        Each batch is evaluated bit-sliced, in chunks of 64-shot words (bounded memory).
        """
        size = self.shots // batches
        s1 = np.zeros((batches, len(paulis)))
        s2 = np.zeros((batches, len(paulis)))
        a = self.arrays
        for k in range(batches):
            for chunk in plane_chunks(size, len(paulis)):
                sl = slice(k * size + chunk.start, k * size + chunk.stop)
                if self.protocol == "bell":
                    t1, t2 = bell_sums(paulis, a["m_a"][sl], a["m_b"][sl])
                else:
                    t1, t2 = shadow_sums(paulis, a["bases_x"][sl], a["bases_z"][sl], a["bits"][sl])
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
        values, stderr = cal.correct(estimates.values, estimates.stderr, paulis, power)
        return Estimates(
            estimates.quantity,
            estimates.observables,
            values,
            stderr,
            estimates.shots,
            f"{estimates.method}, calibrated",
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
            Pauli observables on the dataset's n qubits.
        median_of_means : int, optional
            If given, split the shots into this many equal batches and return the median of
            the batch means (HKP20 Alg. 1); the standard error is then the large-sample value
            sqrt(pi/2) * sigma / sqrt(N).
        calibrated : bool
            Divide by the damping measured on known states (:mod:`copylearn.calibration`);
            needs a dataset collected with ``calibration_copies > 0``. Standard errors then
            include the calibration's.

        Returns
        -------
        Estimates
        """
        if self.protocol == "bell":
            raise CopylearnError(
                "Bell-sampling data determine tr(Q rho)^2 only, not the sign of tr(Q rho): use "
                "estimate_square() or estimate_abs(), or collect with protocol='pauli-shadow'."
            )
        paulis = self._paulis(observables)
        self._require_enough_shots(2, "estimate()")
        n = self.shots
        s1, s2 = self._sums(paulis)
        mean = s1[0] / n
        var = np.maximum(s2[0] - n * mean**2, 0.0) / (n - 1)
        if median_of_means is None:
            raw = Estimates("tr(Q rho)", paulis.labels, mean, np.sqrt(var / n), n, "mean")
        else:
            k = _check_batches(median_of_means, n)
            b1, _ = self._sums(paulis, batches=k)
            medians = np.median(b1 / (n // k), axis=0)
            stderr = np.sqrt(math.pi / 2 * var / (k * (n // k)))
            raw = Estimates(
                "tr(Q rho)", paulis.labels, medians, stderr, k * (n // k), f"median of {k} means"
            )
        return self._calibrated(raw, paulis, 1.0) if calibrated else raw

    def estimate_square(self, observables, calibrated: bool = False) -> Estimates:
        """Unbiased estimate of tr(Q rho)^2 with its standard error.

        Bell data: the mean of f_Q (physics.md §2.5), with the sample standard error (or,
        if every shot agreed, the binomial error at the Jeffreys estimate). Shadow data: the
        U-statistic (S1^2 - S2) / (N (N - 1)) over pairs of distinct snapshots (physics.md
        §2.2). Its standard error is the U-statistic variance
        (4 (N-2) zeta1 + 2 zeta2) / (N (N-1)) with zeta1 = mu^2 sigma^2 and
        zeta2 = E[x^2]^2 - mu^4 estimated from the data, taking mu^2 conservatively at
        |mean| + 2 se(mean): the plain plug-in mean^2 would understate the
        error whenever the sample mean lands near zero by chance.

        ``calibrated=True`` divides by the damping measured on known states (Bell: D(Q),
        shadows: D(Q)^2; :mod:`copylearn.calibration`).
        """
        paulis = self._paulis(observables)
        self._require_enough_shots(2, "estimate_square()")
        n = self.shots
        s1, s2 = self._sums(paulis)
        s1, s2 = s1[0], s2[0]
        mean = s1 / n
        var = np.maximum(s2 - n * mean**2, 0.0) / (n - 1)
        if self.protocol == "bell":
            raw = Estimates(
                "tr(Q rho)^2", paulis.labels, mean, _pm1_stderr(mean, var, n), n, "bell mean"
            )
            return self._calibrated(raw, paulis, 1.0) if calibrated else raw
        u = (s1**2 - s2) / (n * (n - 1))
        # zeta1 = mu^2 sigma^2: mu^2 is taken at the upper end of its ~95% interval, because
        # plugging in mean^2 understates the variance whenever the mean falls near 0 by chance.
        mu_high = np.abs(mean) + 2.0 * np.sqrt(var / n)
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
        of f_Q(m) = (-1)^{#Y(Q)} (-1)^{q.m} (physics.md §2.5) in O(n 4^n).

        Returns
        -------
        (np.ndarray, np.ndarray)
            Estimates and standard errors, each of shape ``(4,) * n`` indexed by the letter
            codes I = 0, X = 1, Y = 2, Z = 3 of qubits 0..n-1: ``values[1, 2, 3, 0]`` is
            tr(XYZI rho)^2. The identity entry is 1.
        """
        if self.protocol != "bell":
            raise CopylearnError(
                "estimate_all_squares() needs two-copy data: collect with protocol='bell'."
            )
        if self.n > MAX_ALL_SQUARES_QUBITS:
            raise CopylearnError(
                f"estimate_all_squares() holds 4^n values and is limited to n <= "
                f"{MAX_ALL_SQUARES_QUBITS} (n = {self.n}): use estimate_square() on a query set."
            )
        self._require_enough_shots(2, "estimate_all_squares()")
        shots = self.shots
        codes = bell_outcome_codes(self.arrays["m_a"], self.arrays["m_b"], self.n)
        values = walsh_squares(np.bincount(codes, minlength=4**self.n), self.n)
        var = np.maximum(1.0 - values**2, 0.0) * shots / (shots - 1)
        return values, _pm1_stderr(values, var, shots)

    def estimate_abs(self, observables, calibrated: bool = False) -> Estimates:
        """Estimate |tr(Q rho)|.

        Bell data: sqrt(max(0, mean f_Q)); the standard error is the delta-method value
        se / (2 * estimate), capped at sqrt(se) near zero. Shadow data: |mean| with the mean's
        standard error. Both are biased upwards near zero (a square root, an absolute value).
        ``calibrated=True`` starts from the calibrated square (Bell) or mean (shadows).
        """
        if self.protocol == "bell":
            sq = self.estimate_square(observables, calibrated=calibrated)
            values = np.sqrt(np.maximum(sq.values, 0.0))
            cap = np.sqrt(sq.stderr)
            with np.errstate(divide="ignore", invalid="ignore"):
                stderr = np.where(values > 0, np.minimum(sq.stderr / (2 * values), cap), cap)
            method = "sqrt of bell mean" + (", calibrated" if calibrated else "")
            return Estimates("|tr(Q rho)|", sq.observables, values, stderr, sq.shots, method)
        signed = self.estimate(observables, calibrated=calibrated)
        return Estimates(
            "|tr(Q rho)|",
            signed.observables,
            np.abs(signed.values),
            signed.stderr,
            signed.shots,
            "abs of shadow mean" + (", calibrated" if calibrated else ""),
        )

    def purity(self) -> Estimates:
        """Estimate tr(rho^2) from Bell data: the mean of (-1)^{number of singlet outcomes}."""
        if self.protocol != "bell":
            raise CopylearnError("purity() needs two-copy data: collect with protocol='bell'.")
        self._require_enough_shots(2, "purity()")
        singlets = popcount(self.arrays["m_a"] & self.arrays["m_b"])
        values = 1.0 - 2.0 * (singlets & 1)
        mean = np.array([values.mean()])
        return Estimates(
            "tr(rho^2)",
            ("I" * self.n,),
            mean,
            _pm1_stderr(mean, np.array([values.var(ddof=1)]), self.shots),
            self.shots,
            "bell swap parity",
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
            path, force=overwrite, what="save():", replace_hint="pass overwrite=True"
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

    One fast Walsh-Hadamard transform over the 2n outcome bits (physics.md §2.5):
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


def _pm1_stderr(mean: np.ndarray, var: np.ndarray, n: int) -> np.ndarray:
    """Standard error of the mean of n values in {+1, -1}.

    The sample variance is used, except when every shot agreed (variance 0): the error is
    then not zero, and the binomial error at the Jeffreys point estimate 0.5 / (n + 1) of the
    unseen outcome's probability is reported instead.
    """
    floor = 4.0 * (0.5 / (n + 1)) * (1.0 - 0.5 / (n + 1))
    return np.sqrt(np.where(var > 0, var, floor) / n)


def _check_batches(k, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= n:
        raise CopylearnError(
            f"median_of_means={k!r} must be an integer number of batches between 1 and the "
            f"number of shots ({n})."
        )
    return int(k)


def load(path: str | os.PathLike) -> Dataset:
    """Load a dataset written by :meth:`Dataset.save` (never unpickles anything).

    Raises
    ------
    CopylearnError
        The file is missing, unreadable, corrupt or not a copylearn dataset.
    """
    path = Path(path)
    if not path.is_file():
        raise CopylearnError(f"dataset file {str(path)!r} does not exist: check the path.")
    bad = f"{str(path)!r} is not a readable copylearn dataset"
    try:
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(str(archive["header"]))
            metadata = json.loads(str(archive["metadata"]))
            arrays = {
                k.removeprefix("array_"): np.asarray(archive[k])
                for k in archive.files
                if k.startswith("array_")
            }
    except (
        OSError,
        ValueError,
        KeyError,
        EOFError,
        zipfile.BadZipFile,
        json.JSONDecodeError,
    ) as exc:
        raise CopylearnError(
            f"{bad} ({exc.__class__.__name__}): re-collect or restore it."
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
    if protocol not in ARRAYS or not isinstance(n, int) or n <= 0:
        raise CopylearnError(f"{bad}: header names protocol {protocol!r} and n={n!r}.")
    shapes = {k: arrays[k].shape if k in arrays else None for k in ARRAYS[protocol]}
    rows = {s[0] for s in shapes.values() if s is not None and len(s) == 2}
    if (
        any(s is None or len(s) != 2 or s[1] != n_words(n) for s in shapes.values())
        or len(rows) != 1
        or any(arrays[k].dtype != np.uint64 for k in ARRAYS[protocol])
    ):
        raise CopylearnError(f"{bad}: its arrays {shapes} do not fit protocol {protocol!r}, n={n}.")
    return Dataset(protocol=protocol, n=n, arrays=arrays, metadata=metadata)
