"""Exact (same bytes) and near (perceptual hash within a Hamming threshold) duplicates and leaks.

Works on parallel lists: `keys[i]` names file i (its path relative to ROOT), `sha[i]` its SHA-256,
`hashes[i]` its pHash (bytes) (None when it could not be decoded), `split[i]` "train"/"test"/"".
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from mri_gan.data.hashing import as_array, pairs_within


def exact_groups(sha: list[str | None]) -> list[list[int]]:
    """Indices of files with identical bytes, groups of >= 2, in input order."""
    by = defaultdict(list)
    for i, s in enumerate(sha):
        if s is not None:
            by[s].append(i)
    return [g for g in by.values() if len(g) > 1]


def near_pairs(hashes: list[int | None], sha: list[str | None], threshold: int) -> list[tuple[int, int, int]]:
    """(i, j, distance), i < j, for decoded files within `threshold` that are NOT byte-identical."""
    idx = np.array([i for i, h in enumerate(hashes) if h is not None], np.int64)
    if len(idx) < 2:
        return []
    h = as_array([hashes[i] for i in idx])
    out = []
    for a, b, d in pairs_within(h, threshold):
        i, j = int(idx[a]), int(idx[b])
        if sha[i] != sha[j]:
            out.append((i, j, int(d)))
    return out


def all_links(hashes, sha, threshold: int) -> list[tuple[int, int, int]]:
    """Exact pairs (every pair inside each group) plus near pairs: the duplicate graph's edges."""
    links = [(g[a], g[b], 0) for g in exact_groups(sha) for a in range(len(g)) for b in range(a + 1, len(g))
             if hashes[g[a]] is not None and hashes[g[b]] is not None]
    return links + near_pairs(hashes, sha, threshold)


def leaks(split: list[str], hashes, sha, threshold: int) -> list[dict]:
    """Test files that duplicate a training file: one record per (test, train) pair, exact first.

    Returns dicts with `test`, `train` (indices), `kind` ("exact" | "near") and `distance`.
    """
    test = [i for i, s in enumerate(split) if s == "test" and hashes[i] is not None]
    train = [i for i, s in enumerate(split) if s == "train" and hashes[i] is not None]
    out = []
    train_by_sha = defaultdict(list)
    for j in train:
        train_by_sha[sha[j]].append(j)
    for i in test:
        for j in train_by_sha.get(sha[i], []):
            out.append({"test": i, "train": j, "kind": "exact", "distance": 0})
    if test and train:
        th = as_array([hashes[i] for i in test])
        tr = as_array([hashes[j] for j in train])
        for a, b, d in pairs_within(th, threshold, other=tr):
            i, j = test[int(a)], train[int(b)]
            if sha[i] != sha[j]:
                out.append({"test": i, "train": j, "kind": "near", "distance": int(d)})
    out.sort(key=lambda r: (r["kind"] != "exact", r["test"], r["train"]))
    return out
