"""Single-copy purity estimators: randomized-measurement pairs and same-basis collisions.

* :func:`shadow_purity`: random-Pauli snapshots. tr(rho^2) is estimated without bias by the
  U-statistic over pairs of distinct snapshots of tr(rho-hat_s rho-hat_t), a product over
  qubits of 5 (same basis, same outcome), -4 (same basis, other outcome) and 1/2 (other
  basis) (docs/theory.md §14.4; the randomized-measurement purity of Brydges et al.,
  Science 364, 260 (2019), with one shot per local random unitary, as in Elben et al., Nat.
  Rev. Phys. 5, 9 (2023)).
* :func:`collision_purity`: shots measured in a shared uniformly random global Clifford
  basis. The rate c-hat of equal outcome strings over same-basis pairs has mean
  (1 + tr rho^2)/(d + 1) (a unitary 2-design), so (d + 1) c-hat - 1 is unbiased (§14.3).

Standard errors are delete-one jackknife errors: over snapshots for the U-statistic, over
Clifford groups for the collision rate.
"""

from __future__ import annotations

import numpy as np

from copylearn.errors import CopylearnError

#: Snapshots per block of the pairwise kernel (bounds its (block, N) temporaries).
KERNEL_ROWS = 2048


def local_shadow_kernel(
    bases: np.ndarray, bits: np.ndarray, other_bases: np.ndarray, other_bits: np.ndarray
) -> np.ndarray:
    """tr(rho-hat_s rho-hat_t) for random-Pauli snapshots s and t: ``(S, T)``.

    Parameters
    ----------
    bases, other_bases : np.ndarray
        ``(S, n)`` and ``(T, n)`` measurement bases in {0, 1, 2}.
    bits, other_bits : np.ndarray
        The measured bits, same shapes, 0/1.

    Returns
    -------
    np.ndarray
        ``(S, T)`` float64: the product over qubits of 5, -4 or 1/2 (docs/theory.md §14.4).
    """
    n = bases.shape[1]

    def onehot(values: np.ndarray, k: int) -> np.ndarray:
        return np.eye(k, dtype=np.float32)[values].reshape(len(values), k * n)

    same_basis = np.rint(onehot(bases, 3) @ onehot(other_bases, 3).T).astype(np.int64)
    same_both = np.rint(
        onehot(2 * bases + bits, 6) @ onehot(2 * other_bases + other_bits, 6).T
    ).astype(np.int64)
    a = np.arange(n + 1)
    table = (
        5.0 ** a[:, None]
        * (-4.0) ** np.clip(a[None, :] - a[:, None], 0, None)
        * 0.5 ** (n - a[None, :])
    )  # table[same basis and outcome, same basis]
    return table[same_both, same_basis]


def pair_sums(bases: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """``(N + 1,)``: sum of the kernel over pairs s < t < e, for e = 0..N."""
    total = len(bases)
    g = np.zeros(total)
    for start in range(0, total, KERNEL_ROWS):
        stop = min(total, start + KERNEL_ROWS)
        k = local_shadow_kernel(bases[start:stop], bits[start:stop], bases[:stop], bits[:stop])
        mask = np.arange(stop)[None, :] < np.arange(start, stop)[:, None]
        g[start:stop] = np.where(mask, k, 0.0).sum(axis=1)
    return np.concatenate([[0.0], np.cumsum(g)])


def shadow_purity(bases: np.ndarray, bits: np.ndarray) -> tuple[float, float]:
    """Unbiased tr(rho^2) from random-Pauli snapshots and its jackknife standard error.

    Parameters
    ----------
    bases : np.ndarray
        ``(N, n)`` bases in {0, 1, 2} (X, Y, Z), one independent uniform draw per qubit.
    bits : np.ndarray
        ``(N, n)`` measured bits.

    Returns
    -------
    tuple of float
        The U-statistic over the N(N-1)/2 pairs (docs/theory.md §14.4) and its standard
        error.

    Raises
    ------
    CopylearnError
        Fewer than 3 snapshots.
    """
    total, n = bases.shape
    if total < 3:
        raise CopylearnError(
            f"the purity of random-Pauli data needs at least 3 snapshots, got {total}: "
            "collect more copies."
        )
    h = np.zeros(total)  # h_s = sum over t != s of the kernel
    for start in range(0, total, KERNEL_ROWS):
        stop = min(total, start + KERNEL_ROWS)
        h[start:stop] = local_shadow_kernel(bases[start:stop], bits[start:stop], bases, bits).sum(
            axis=1
        )
    h -= 5.0**n
    s = h.sum()
    value = s / (total * (total - 1))
    leave_out = (s - 2.0 * h) / ((total - 1) * (total - 2))
    stderr = np.sqrt((total - 1) / total * np.sum((leave_out - leave_out.mean()) ** 2))
    return float(value), float(stderr)


def collision_counts(keys: np.ndarray, basis_words: int) -> tuple[np.ndarray, np.ndarray]:
    """Per Clifford group: same-outcome pairs and pairs, ``(G,)`` each.

    ``keys`` is ``(N, words)`` uint64: each shot's basis record (its first ``basis_words``
    words, e.g. the packed tableau) followed by its packed outcome bits.
    """
    _, group = np.unique(keys[:, :basis_words], axis=0, return_inverse=True)
    group = group.reshape(-1)
    _, outcome = np.unique(keys, axis=0, return_inverse=True)
    outcome = outcome.reshape(-1)
    sizes = np.bincount(group)
    per_outcome = np.bincount(outcome)
    # Every outcome class lies inside one group (its key holds the basis).
    owner = np.zeros(len(per_outcome), dtype=np.int64)
    owner[outcome] = group
    collisions = np.bincount(
        owner, weights=per_outcome * (per_outcome - 1) / 2, minlength=len(sizes)
    )
    return collisions, sizes * (sizes - 1) / 2.0


def collision_purity(keys: np.ndarray, basis_words: int, n: int) -> tuple[float, float]:
    """(d + 1) c-hat - 1 from shots sharing random Clifford bases, and its jackknife error.

    Parameters
    ----------
    keys : np.ndarray
        ``(N, words)`` uint64 basis record then outcome bits per shot (see
        :func:`collision_counts`).
    basis_words : int
        Words of ``keys`` that name the basis.
    n : int
        Qubits (d = 2^n).

    Returns
    -------
    tuple of float
        The estimate of tr(rho^2) (docs/theory.md §14.3) and its delete-one-group jackknife
        standard error.

    Raises
    ------
    CopylearnError
        Fewer than two Cliffords hold two or more shots each.
    """
    collisions, pairs = collision_counts(keys, basis_words)
    used = pairs > 0
    if used.sum() < 2:
        raise CopylearnError(
            "the collision purity needs at least two random Cliffords with two or more shots "
            f"each (got {int(used.sum())}): collect with shots_per_unitary >= 2 and more copies."
        )
    collisions, pairs = collisions[used], pairs[used]
    d = 2.0**n

    def estimate(c: np.ndarray | float, p: np.ndarray | float):
        return (d + 1.0) * c / p - 1.0

    value = estimate(collisions.sum(), pairs.sum())
    leave_out = estimate(collisions.sum() - collisions, pairs.sum() - pairs)
    g = len(pairs)
    stderr = np.sqrt((g - 1) / g * np.sum((leave_out - leave_out.mean()) ** 2))
    return float(value), float(stderr)
