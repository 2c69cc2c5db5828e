"""Format level of the glTF writer: one binary buffer, buffer views, accessors, images, the GLB container.

:class:`GlbWriter` owns a ``pygltflib.GLTF2`` document and its single binary buffer. The gather functions
of :mod:`exporters.gltf` add arrays through it and never touch byte offsets; :meth:`GlbWriter.to_glb` packs
the container. Everything is deterministic: the same calls give byte-identical output.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pygltflib
from pygltflib import Accessor, AccessorSparseIndices, AccessorSparseValues, BufferView, Sparse

__all__ = ["GlbWriter", "ARRAY_BUFFER", "ELEMENT_ARRAY_BUFFER"]

ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963

_COMPONENT = {
    np.dtype(np.int8): 5120, np.dtype(np.uint8): 5121, np.dtype(np.int16): 5122, np.dtype(np.uint16): 5123,
    np.dtype(np.uint32): 5125, np.dtype(np.float32): 5126,
}
_TYPE = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4", 16: "MAT4"}
_GLB_MAGIC = 0x46546C67  # "glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942


def _pad(n: int, align: int = 4) -> int:
    return -n % align


class GlbWriter:
    """Accumulates a glTF document and its binary buffer (see module docstring).

    Sparse accessors put their indices and values into two shared buffer views (sparse views have no
    ``target`` and no stride, so sharing them is valid and keeps the JSON small).
    """

    def __init__(self) -> None:
        self.gltf = pygltflib.GLTF2()
        self._blob = bytearray()
        self._zero_accessors: dict[tuple[int, str], int] = {}
        self._sparse_views: tuple[int, int] | None = None
        self._sparse_pools = (bytearray(), bytearray())

    # ------------------------------------------------------------------------------------------- views
    def view(self, data: bytes | np.ndarray, *, target: int | None = None, name: str | None = None) -> int:
        """Append ``data`` (4-byte aligned) as a new buffer view; returns its index."""
        raw = data.tobytes() if isinstance(data, np.ndarray) else bytes(data)
        self._blob += b"\0" * _pad(len(self._blob))
        offset = len(self._blob)
        self._blob += raw
        self.gltf.bufferViews.append(BufferView(buffer=0, byteOffset=offset, byteLength=len(raw), target=target,
                                                name=name))
        return len(self.gltf.bufferViews) - 1

    # --------------------------------------------------------------------------------------- accessors
    def accessor(self, array: np.ndarray, *, target: int | None = None, min_max: bool = False,
                 normalized: bool = False, name: str | None = None) -> int:
        """Add ``array`` (``[N]``, ``[N, C]`` or ``[N, 4, 4]`` column-major matrices already transposed) as a
        tightly packed accessor in its own buffer view; ``min_max`` records per-component bounds."""
        a = np.ascontiguousarray(array)
        comp = _COMPONENT.get(a.dtype)
        width = int(np.prod(a.shape[1:])) if a.ndim > 1 else 1
        if comp is None or width not in _TYPE or a.shape[0] == 0:
            raise ValueError(f"accessor {name or ''}: unsupported array {a.dtype} {list(a.shape)}")
        view = self.view(a, target=target)
        return self._add_accessor(Accessor(bufferView=view, componentType=comp, count=int(a.shape[0]),
                                           type=_TYPE[width], normalized=normalized or None, name=name,
                                           **(_bounds(a.reshape(a.shape[0], width)) if min_max else {})))

    def zero_accessor(self, count: int, width: int = 3) -> int:
        """A float accessor of ``count`` zero vectors with no buffer data (glTF initialises it with zeros);
        shared by every caller asking for the same size. Carries min/max (zeros)."""
        key = (count, _TYPE[width])
        if key not in self._zero_accessors:
            self._zero_accessors[key] = self._add_accessor(Accessor(
                bufferView=None, byteOffset=None, componentType=5126, count=count, type=_TYPE[width],
                normalized=None, min=[0.0] * width, max=[0.0] * width))
        return self._zero_accessors[key]

    def morph_accessor(self, deltas: np.ndarray, *, sparse: bool = True, name: str | None = None) -> int:
        """Morph-target deltas ``[N, C]`` float32 with min/max: all zero → :meth:`zero_accessor`; few
        non-zero rows → a sparse accessor; otherwise dense."""
        d = np.ascontiguousarray(deltas, dtype=np.float32)
        n, width = d.shape
        rows = np.flatnonzero(np.any(d != 0, axis=1))
        if rows.shape[0] == 0:
            return self.zero_accessor(n, width)
        index_dtype = np.uint16 if n <= 0xFFFF else np.uint32
        sparse_bytes = rows.shape[0] * (np.dtype(index_dtype).itemsize + 4 * width)
        if not sparse or sparse_bytes >= d.nbytes:
            return self.accessor(d, target=ARRAY_BUFFER, min_max=True, name=name)
        if self._sparse_views is None:
            self._sparse_views = (self.view(b"", name="sparse_indices"), self.view(b"", name="sparse_values"))
        pool_i, pool_v = self._sparse_pools
        pool_i += b"\0" * _pad(len(pool_i))
        offset_i = len(pool_i)
        pool_i += rows.astype(index_dtype).tobytes()
        offset_v = len(pool_v)
        pool_v += d[rows].tobytes()
        sp = Sparse(count=int(rows.shape[0]),
                    indices=AccessorSparseIndices(bufferView=self._sparse_views[0], byteOffset=offset_i,
                                                  componentType=_COMPONENT[np.dtype(index_dtype)]),
                    values=AccessorSparseValues(bufferView=self._sparse_views[1], byteOffset=offset_v))
        return self._add_accessor(Accessor(bufferView=None, byteOffset=None, componentType=5126, count=n,
                                           type=_TYPE[width], normalized=None, sparse=sp, name=name, **_bounds(d)))

    def _add_accessor(self, acc: Accessor) -> int:
        self.gltf.accessors.append(acc)
        return len(self.gltf.accessors) - 1

    # ------------------------------------------------------------------------------------------ images
    def image(self, png: bytes, *, name: str) -> int:
        """Embed PNG bytes as an image in a buffer view; returns the image index."""
        view = self.view(png, name=name)
        self.gltf.images.append(pygltflib.Image(bufferView=view, mimeType="image/png", name=name))
        return len(self.gltf.images) - 1

    # ------------------------------------------------------------------------------------------ output
    def to_glb(self, asset_extras: dict[str, Any] | None = None) -> bytes:
        """Pack the GLB container (header, JSON chunk padded with spaces, BIN chunk padded with zeros).

        ``asset_extras`` is written verbatim as ``asset.extras`` (pygltflib's serialiser would drop ``None``
        values and empty lists from it).
        """
        if self._sparse_views is not None:  # place the two shared sparse pools at the end of the blob
            for view_index, pool in zip(self._sparse_views, self._sparse_pools):
                self._blob += b"\0" * _pad(len(self._blob))
                bv = self.gltf.bufferViews[view_index]
                bv.byteOffset, bv.byteLength = len(self._blob), len(pool)
                self._blob += pool
            self._sparse_views = None
        self._blob += b"\0" * _pad(len(self._blob))
        self.gltf.buffers = [pygltflib.Buffer(byteLength=len(self._blob))]
        doc = pygltflib.delete_empty_keys(pygltflib.gltf_asdict(self.gltf))
        if asset_extras is not None:
            doc["asset"]["extras"] = asset_extras
        text = json.dumps(doc, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode("utf-8")
        text += b" " * _pad(len(text))
        total = 12 + 8 + len(text) + 8 + len(self._blob)
        return b"".join([
            struct.pack("<III", _GLB_MAGIC, 2, total),
            struct.pack("<II", len(text), _CHUNK_JSON), text,
            struct.pack("<II", len(self._blob), _CHUNK_BIN), bytes(self._blob),
        ])


def _bounds(a: np.ndarray) -> dict[str, list[float]]:
    """Per-component min/max as Python numbers (exact float32 values for float data)."""
    if a.dtype.kind == "f":
        return {"min": [float(x) for x in a.min(0)], "max": [float(x) for x in a.max(0)]}
    return {"min": [int(x) for x in a.min(0)], "max": [int(x) for x in a.max(0)]}
