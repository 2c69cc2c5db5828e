"""File output shared by every writer: atomic files and folders, deterministic PNG encoding.

Nothing is ever half-written: files go to a temporary name in the target folder and are renamed into place;
folders are assembled under a temporary sibling name and renamed as a whole.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

__all__ = ["atomic_folder", "atomic_write_bytes", "encode_png", "json_bytes"]


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, at import (os.umask cannot be read without setting it: not thread-safe)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, fsync, rename)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp's 0600 → what open() would have given
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def json_bytes(doc: Any) -> bytes:
    """Canonical, human-readable JSON (sorted keys, 2-space indent, UTF-8, trailing newline)."""
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def encode_png(pixels: np.ndarray, *, compress_level: int = 1) -> bytes:
    """PNG bytes of ``[H, W]`` / ``[H, W, C]`` uint8 (C = 1..4) or ``[H, W]`` uint16 pixels.

    Deterministic: Pillow writes no timestamps or text chunks, so equal pixels give equal bytes.
    """
    from PIL import Image

    px = np.ascontiguousarray(pixels)
    if px.dtype == np.uint16 and px.ndim == 2:
        img = Image.fromarray(px.astype("<u2"))  # mode I;16
    elif px.dtype == np.uint8 and (px.ndim == 2 or (px.ndim == 3 and 1 <= px.shape[2] <= 4)):
        img = Image.fromarray(px[..., 0] if px.ndim == 3 and px.shape[2] == 1 else px)
    else:
        raise ValueError(f"pixels: expected uint8 [H, W(, C)] or uint16 [H, W], got {px.dtype} {px.shape}")
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


@contextmanager
def atomic_folder(final: str | Path, *, replace: bool = False) -> Iterator[Path]:
    """Build a folder under a temporary sibling name; on success rename it to ``final``.

    With ``replace=True`` an existing ``final`` is swapped out (renamed aside, then deleted) only after the
    new folder is complete; on any error the temporary folder is removed and ``final`` is untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        tmp.chmod(0o777 & ~_UMASK)  # mkdtemp's 0700 → what mkdir() would have given
        yield tmp
        if final.exists():
            if not replace:
                raise FileExistsError(f"{final} exists")
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            os.replace(final, old / "x")
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
