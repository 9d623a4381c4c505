"""grouping.codes against the np.unique constructions it replaces."""
from __future__ import annotations

import numpy as np
import pytest

from grouping.codes import first_occurrence_codes, unique_counts


def _first_occurrence_reference(values):
    uniq, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(uniq))
    return rank[inverse.ravel()], uniq[np.argsort(first, kind="stable")]


@pytest.mark.parametrize("high", [1, 3, 5000, 10**6, 10**15])
def test_codes_match_np_unique(high):
    rng = np.random.default_rng(high % 97)
    # runs of equal codes (as along image rows) and scattered repeats; enough distinct codes
    # to grow the hash table several times
    codes = np.repeat(rng.integers(0, high, size=9000), rng.integers(1, 6, size=9000))
    codes = codes.astype(np.int64).reshape(-1, 1)
    labels, distinct, counts = first_occurrence_codes(codes)
    expected_labels, expected_distinct = _first_occurrence_reference(codes)
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_array_equal(distinct, expected_distinct)
    np.testing.assert_array_equal(counts, np.bincount(labels))
    uniq, uniq_counts = unique_counts(codes)
    expected_uniq, expected_counts = np.unique(codes, return_counts=True)
    np.testing.assert_array_equal(uniq, expected_uniq)
    np.testing.assert_array_equal(uniq_counts, expected_counts)
    assert uniq.dtype == np.int64 and uniq_counts.dtype == np.int64


def test_empty_and_single():
    labels, distinct, counts = first_occurrence_codes(np.zeros(0, np.int64))
    assert labels.size == distinct.size == counts.size == 0
    labels, distinct, counts = first_occurrence_codes(np.array([7, 7, 7]))
    assert labels.tolist() == [0, 0, 0] and distinct.tolist() == [7] and counts.tolist() == [3]
