"""Train/test splits: stratified per class for a plain `ROOT/<class>/` tree, and the grouped split.

Grouped split: images whose hashes lie within `data.group_threshold` are linked, connected
components of that graph are groups (typically neighbouring slices of one series, plus every
exact/near copy), and whole groups are assigned to train or test, stratified by the group's
majority class, so no group straddles the split.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from mri_gan.data.hashing import pairs_within


def stratified_test_mask(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """Boolean `is_test` per item: round(test_fraction * n_c) random items of each class c."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n_test = int(round(test_fraction * len(idx)))
        is_test[rng.permutation(idx)[:n_test]] = True
    return is_test


def hash_groups(hashes: np.ndarray, threshold: int) -> np.ndarray:
    """Group id per hash: connected components of the graph 'Hamming distance <= threshold'."""
    n = len(hashes)
    pairs = pairs_within(hashes, threshold)
    graph = coo_matrix((np.ones(len(pairs), np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, groups = connected_components(graph, directed=False)
    return groups


def grouped_split(groups: np.ndarray, labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """Boolean `is_test` per item; whole groups go to one side, stratified by majority class.

    For each class, its groups are visited in a seeded random order and a group joins the test
    side when that brings the class's test count closer to test_fraction of the class's images.
    """
    groups, labels = np.asarray(groups), np.asarray(labels)
    rng = np.random.default_rng(seed)
    gids = np.unique(groups)
    sizes = np.bincount(groups)
    major = np.empty(groups.max() + 1, labels.dtype)
    for g in gids:  # majority class of each group (ties: the smaller label)
        major[g] = np.bincount(labels[groups == g]).argmax()
    test_groups = set()
    for c in np.unique(labels):
        mine = gids[major[gids] == c]
        target = test_fraction * sizes[mine].sum()
        count = 0
        for g in rng.permutation(mine):
            if abs(count + sizes[g] - target) < abs(count - target):
                test_groups.add(int(g))
                count += sizes[g]
    return np.isin(groups, list(test_groups))


def group_report(groups: np.ndarray, labels: np.ndarray, is_test: np.ndarray) -> dict:
    """Number and sizes of groups, and a check that none straddles the split."""
    sizes = np.bincount(groups)
    sizes = sizes[sizes > 0]
    hist = np.bincount(sizes)
    straddle = sum(1 for g in np.unique(groups) if len(np.unique(is_test[groups == g])) > 1)
    mixed = sum(1 for g in np.unique(groups) if len(np.unique(labels[groups == g])) > 1)
    test_g = len(np.unique(groups[is_test]))
    return {
        "groups": int(len(sizes)),
        "singletons": int((sizes == 1).sum()),
        "largest": int(sizes.max()),
        "mean_size": round(float(sizes.mean()), 3),
        "size_histogram": {str(s): int(n) for s, n in enumerate(hist) if n},
        "train_groups": int(len(sizes) - test_g),
        "test_groups": int(test_g),
        "mixed_class_groups": mixed,
        "straddling_groups": int(straddle),
    }
