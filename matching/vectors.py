"""Vectors as the store keeps them (int8), and `VectorIndex`: approximate nearest neighbours
over the document vectors of the store's articles."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from typing import Any

import numpy as np

from newsbeam.matching.encoders import normalize
from newsbeam.state.store import Store


def pack(vectors: np.ndarray) -> bytes:
    return np.clip(np.round(vectors * 127), -127, 127).astype(np.int8).tobytes()


def unpack(blob: bytes, dim: int) -> np.ndarray:
    vectors = np.frombuffer(blob, dtype=np.int8).astype(np.float32).reshape(-1, dim) / 127
    return normalize(vectors)


class VectorIndex:
    """Approximate nearest neighbours (HNSW, usearch) over the document vectors in the store.

    It is a cache of the store, not a second source of truth: every article row carries a
    sequence number that grows with each write (an update gets a new one), the index is keyed
    by it, and `sync` adds the rows written since the last call. Lookups cost O(log n) however
    large the index grows.

    Building the graph is the slow part (about 18 s per 100,000 stories), so a worker saves it
    to `cache_path` when it is done and the next one starts from there, adding only what was
    written since. The file names the store it belongs to; any mismatch means a full rebuild.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._index: Any = None
        self._seq = 0
        self._saved_seq = 0
        self.cache_path, self.store_id = store.cache_path("vectors"), store.meta("store_id")

    def __len__(self) -> int:
        return 0 if self._index is None else len(self._index)

    def sync(self) -> None:
        """Add the articles any worker filed since the last call."""
        if self._index is None:
            self._restore()
        rows = self.store.stories.articles_after(self._seq)
        if not rows:
            return
        vectors = np.stack([np.frombuffer(r["vector"], dtype=np.int8) for r in rows]).astype(np.float32)
        keys = np.array([r["seq"] for r in rows], dtype=np.uint64)
        if self._index is None:
            self._index = self._new_index(vectors.shape[1])
        # Threads pay off for a bulk load only; for a few rows their start-up dominates.
        self._index.add(keys, vectors, threads=2 if len(keys) > 1000 else 1)
        self._seq = rows[-1]["seq"]

    def nearest(self, vector: np.ndarray, count: int) -> list[int]:
        if not len(self):
            return []
        return [int(k) for k in self._index.search(vector, count).keys]

    def save(self) -> None:
        """Write the graph to the cache file (atomically), with every article filed so far (the
        last chunk a worker filed is not in it yet), if it grew since it was loaded."""
        if not self.cache_path:
            return
        if self._index is None and self._saved() == (self.store_id, self.store.stories.newest_seq()):
            return  # never loaded, and nothing filed since the file was written (a pass with nothing new)
        self.sync()
        if self._index is None or self._seq == self._saved_seq:
            return
        temporary = f"{self.cache_path}.{uuid.uuid4().hex}.tmp"
        try:
            self._index.save(temporary)
            with open(temporary + ".json", "w", encoding="utf-8") as handle:
                json.dump({"store_id": self.store_id, "seq": self._seq}, handle)
            os.replace(temporary + ".json", self.cache_path + ".json")
            os.replace(temporary, self.cache_path)
        finally:  # a full disk leaves no half-written file behind
            for left in (temporary, temporary + ".json"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(left)
        self._saved_seq = self._seq

    @staticmethod
    def _new_index(dim: int) -> Any:
        from usearch.index import Index

        return Index(ndim=dim, metric="cos", dtype="i8", connectivity=16, expansion_add=32, expansion_search=64)

    def _saved(self) -> tuple[str, int] | None:
        """The store and the last sequence number the cache file holds, if it can be read."""
        try:
            with open(self.cache_path + ".json", encoding="utf-8") as handle:
                saved = json.load(handle)
            return str(saved["store_id"]), int(saved["seq"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _restore(self) -> None:
        saved = self._saved() if self.cache_path else None
        if saved is None or saved[0] != self.store_id or saved[1] > self.store.stories.newest_seq():
            return  # none, unreadable, another store's, or a store that was reset: rebuild
        try:
            from usearch.index import Index

            index = Index.restore(self.cache_path)
        except (OSError, ValueError, RuntimeError):
            return  # unreadable: rebuild from the store
        if index is not None:
            self._index, self._seq = index, saved[1]
            self._saved_seq = self._seq
