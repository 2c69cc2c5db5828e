"""Safe loading of FLAME's pickled files (model, landmark embeddings, masks).

FLAME files are Python pickles, and ``pickle.load`` runs whatever callable a file names. This module
loads them with a *restricted* unpickler that rebuilds only plain data:

* numpy arrays, dtypes and scalars (numpy 1.x ``numpy.core`` and 2.x ``numpy._core`` names);
* scipy sparse matrices (FLAME 2020 stores ``J_regressor`` as ``scipy.sparse.csc_matrix``), rebuilt from
  their pickled ``data``/``indices``/``indptr``/shape through scipy's validating constructor;
* chumpy arrays (``chumpy.ch.Ch``, used by FLAME 2020 for ``shapedirs`` and others), rebuilt from the
  pickled state's array ``x`` **without importing chumpy**; chumpy *expressions* (subclasses such as
  ``chumpy.ch_ops.add``) are refused, since they hold no array;
* torch tensors inside DECA-style ``.npy`` embeddings, rebuilt through ``torch.load(weights_only=True)``
  and returned as numpy arrays;
* ``set``/``frozenset``/``OrderedDict`` and the byte/reconstructor helpers that Python 2 and protocol-2
  pickles use (``_codecs.encode`` with latin-1 only, ``copyreg._reconstructor`` for the classes above only).

Any other global (``os.system``, ``builtins.eval``, ``subprocess.Popen`` …) raises
:class:`UnsafePickleError` (a ``ValueError``) naming it, before anything is called. Corrupt or truncated
files raise ``ValueError`` naming the file. Python 2 pickles are read with ``encoding="latin1"``.
"""

from __future__ import annotations

import _compat_pickle
import io
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse

__all__ = ["UnsafePickleError", "load_pickle", "load_pickle_bytes", "load_npy"]


class UnsafePickleError(ValueError):
    """A pickle named a global outside the allow-list (the message names it); nothing was called."""


# --------------------------------------------------------------------------- placeholders
class _ChumpyArray:
    """Stand-in for ``chumpy.ch.Ch``: keeps the pickled state; replaced by ``state['x']`` after loading."""

    def __new__(cls, *args, **kwargs):  # NEWOBJ passes the pickled constructor args; we ignore them
        obj = object.__new__(cls)
        obj.state = None
        return obj

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _SparseMatrix:
    """Stand-in for a pickled scipy sparse matrix; rebuilt by :func:`_finish` with scipy's checks."""

    fmt = ""

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj.state = None
        return obj

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _sparse_class(fmt: str) -> type:
    return type(f"_Sparse_{fmt}", (_SparseMatrix,), {"fmt": fmt})


_SPARSE_CLASSES = {fmt: _sparse_class(fmt) for fmt in ("csc", "csr", "coo")}
_PLACEHOLDERS = (_ChumpyArray, _SparseMatrix)


# --------------------------------------------------------------------------- safe callables
def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> np.ndarray:
    """``numpy.core.multiarray._reconstruct`` restricted to ndarray / matrix."""
    if subtype not in (np.ndarray, np.matrix):
        raise UnsafePickleError(f"refusing numpy array subtype {subtype!r}: only numpy.ndarray is rebuilt")
    return np.ndarray.__new__(subtype, shape, typecode)


def _scalar(dtype: Any, data: Any = None) -> Any:
    """``numpy.core.multiarray.scalar`` for non-object dtypes."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickleError(f"refusing numpy scalar of dtype {dtype!r}")
    if isinstance(data, str):
        data = data.encode("latin1")
    return np.frombuffer(bytes(data), dtype=dtype, count=1)[0]


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """``numpy.core.numeric._frombuffer`` (protocol-5 arrays), copied into an owned array."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickleError(f"refusing numpy buffer of dtype {dtype!r}")
    return np.frombuffer(bytes(buf), dtype=dtype).reshape(shape, order=order).copy()


def _codecs_encode(text: Any, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes (latin-1 only)."""
    if not isinstance(text, str) or encoding.replace("-", "").lower() != "latin1":
        raise UnsafePickleError(f"refusing _codecs.encode with encoding {encoding!r} (only latin1 is used for bytes)")
    return text.encode("latin1")


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copyreg._reconstructor`` (protocol 0/1 objects), only for the placeholder classes."""
    if not (isinstance(cls, type) and issubclass(cls, _PLACEHOLDERS)) or base is not object:
        raise UnsafePickleError(f"refusing copyreg._reconstructor for {cls!r}")
    return cls.__new__(cls)


def _torch_load_from_bytes(data: Any) -> Any:
    """``torch.storage._load_from_bytes`` through torch's own restricted loader (``weights_only=True``)."""
    import torch

    if not isinstance(data, (bytes, bytearray)):
        raise UnsafePickleError("refusing torch storage that is not a bytes payload")
    storage = torch.load(io.BytesIO(bytes(data)), weights_only=True, map_location="cpu")
    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise UnsafePickleError(f"refusing torch payload of type {type(storage).__name__} (expected a storage)")
    return storage


def _torch_rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *rest: Any) -> np.ndarray:
    """``torch._utils._rebuild_tensor_v2`` → a numpy copy (hooks/metadata are ignored)."""
    import torch

    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise UnsafePickleError("refusing torch tensor whose storage is not a torch storage")
    tensor = torch._utils._rebuild_tensor(storage, int(offset), tuple(size), tuple(stride))
    return tensor.detach().cpu().numpy().copy()


_ALLOWED: dict[tuple[str, str], Any] = {
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "object"): object,
    ("collections", "OrderedDict"): OrderedDict,
    ("_codecs", "encode"): _codecs_encode,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy", "matrix"): np.matrix,
    ("numpy.matrixlib.defmatrix", "matrix"): np.matrix,
    ("chumpy.ch", "Ch"): _ChumpyArray,
    ("chumpy", "Ch"): _ChumpyArray,
    ("torch._utils", "_rebuild_tensor_v2"): _torch_rebuild_tensor,
    ("torch.storage", "_load_from_bytes"): _torch_load_from_bytes,
}
for _core in ("numpy.core", "numpy._core"):
    _ALLOWED[(f"{_core}.multiarray", "_reconstruct")] = _reconstruct
    _ALLOWED[(f"{_core}.multiarray", "scalar")] = _scalar
    _ALLOWED[(f"{_core}.numeric", "_frombuffer")] = _frombuffer
for _fmt, _cls in _SPARSE_CLASSES.items():
    for _mod in (f"scipy.sparse.{_fmt}", f"scipy.sparse._{_fmt}", "scipy.sparse"):
        _ALLOWED[(_mod, f"{_fmt}_matrix")] = _cls
        _ALLOWED[(_mod, f"{_fmt}_array")] = _cls


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        # Python 2 names (copy_reg, __builtin__) → Python 3, as pickle's own find_class does.
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        found = _ALLOWED.get((module, name))
        if found is not None:
            return found
        if module.startswith("chumpy"):
            raise UnsafePickleError(
                f"refusing to unpickle global '{module}.{name}': a chumpy expression holds no array; only plain "
                "chumpy.ch.Ch arrays are supported (save the model with numpy arrays, e.g. via ch.r)"
            )
        raise UnsafePickleError(
            f"refusing to unpickle global '{module}.{name}': FLAME files may only contain numpy arrays, scipy "
            "sparse matrices and chumpy arrays"
        )

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("refusing pickle with persistent ids (not a FLAME data file)")


# --------------------------------------------------------------------------- post-processing
def _sparse_from_state(obj: _SparseMatrix) -> scipy.sparse.spmatrix:
    state = obj.state
    if not isinstance(state, dict):
        raise ValueError(f"sparse {obj.fmt} matrix: expected a pickled state dict, got {type(state).__name__}")
    shape = state.get("_shape", state.get("shape"))
    if not (isinstance(shape, tuple) and len(shape) == 2):
        raise ValueError(f"sparse {obj.fmt} matrix: expected a 2-tuple '_shape', got {shape!r}")
    shape = (int(shape[0]), int(shape[1]))
    if obj.fmt == "coo":
        coords = state.get("coords")
        row, col = coords if coords is not None else (state.get("row"), state.get("col"))
        # coo_matrix checks its indices against the shape.
        return scipy.sparse.coo_matrix((np.asarray(state["data"]), (np.asarray(row), np.asarray(col))),
                                       shape=shape)
    ctor = scipy.sparse.csc_matrix if obj.fmt == "csc" else scipy.sparse.csr_matrix
    matrix = ctor(tuple(np.asarray(state[k]) for k in ("data", "indices", "indptr")), shape=shape)
    # The compressed constructors only check array lengths; out-of-range indices would make the later
    # dense conversion read or write out of bounds.
    matrix.check_format(full_check=True)
    return matrix


def _finish(obj: Any, depth: int = 0) -> Any:
    """Replace placeholders by numpy arrays / scipy matrices, recursively through containers."""
    if depth > 100:
        raise ValueError("pickle nests containers more than 100 levels deep")
    if isinstance(obj, _ChumpyArray):
        state = obj.state
        if not isinstance(state, dict) or "x" not in state:
            raise ValueError("chumpy array: pickled state has no array 'x' (a chumpy expression?)")
        x = _finish(state["x"], depth + 1)
        if isinstance(x, _PLACEHOLDERS) or not isinstance(x, (np.ndarray, int, float)):
            raise ValueError(f"chumpy array: 'x' is a {type(x).__name__}, expected a numpy array")
        return np.asarray(x)
    if isinstance(obj, _SparseMatrix):
        try:
            return _sparse_from_state(obj)
        except (KeyError, TypeError, IndexError) as err:
            raise ValueError(f"sparse {obj.fmt} matrix: malformed pickled state ({err!r})") from None
    if isinstance(obj, np.matrix):
        return np.asarray(obj)
    if isinstance(obj, np.ndarray) and obj.dtype.hasobject:
        out = np.empty(obj.shape, dtype=object)
        for idx, item in np.ndenumerate(obj):
            out[idx] = _finish(item, depth + 1)
        return out
    if isinstance(obj, dict):
        return type(obj)((k, _finish(v, depth + 1)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_finish(v, depth + 1) for v in obj)
    return obj


# --------------------------------------------------------------------------- public entry points
def load_pickle_bytes(data: bytes, *, name: str = "<bytes>") -> Any:
    """Unpickle ``data`` with the allow-list above (``encoding="latin1"`` for Python 2 pickles).

    Args:
        data: the pickle bytes.
        name: what to call the data in error messages (a file name).
    Returns:
        The unpickled object, with chumpy arrays as ``np.ndarray`` and sparse matrices as scipy matrices.
    Raises:
        UnsafePickleError: a refused global (names it).
        ValueError: a corrupt or truncated pickle, or a malformed array/matrix state.
    """
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
        return _finish(obj)
    except UnsafePickleError as err:
        raise UnsafePickleError(f"{name}: {err}") from None
    except ValueError as err:
        raise ValueError(f"{name}: corrupt or malformed pickle ({err})") from None
    except (pickle.UnpicklingError, EOFError, TypeError, AttributeError, KeyError, IndexError,
            OverflowError, MemoryError, RecursionError, UnicodeError, RuntimeError) as err:
        raise ValueError(f"{name}: corrupt or truncated pickle ({type(err).__name__}: {err})") from None


def load_pickle(path: str | Path) -> Any:
    """Read and safely unpickle a file (see :func:`load_pickle_bytes`)."""
    path = Path(path)
    return load_pickle_bytes(path.read_bytes(), name=path.name)


def load_npy(path: str | Path) -> Any:
    """Read a ``.npy`` file without ``np.load(allow_pickle=True)``.

    Plain arrays are read by numpy with ``allow_pickle=False``; object arrays (``np.save`` of a dict, as
    ``flame_dynamic_embedding.npy`` and DECA's ``landmark_embedding.npy``) go through the restricted
    unpickler. A 0-d object array is unwrapped (``arr[()]``), as ``np.load(...)[()]`` would.
    """
    path = Path(path)
    raw = path.read_bytes()
    stream = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    except (ValueError, EOFError, SyntaxError) as err:
        raise ValueError(f"{path.name}: not a valid .npy file ({err})") from None
    if not dtype.hasobject:
        try:
            return np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
        except (ValueError, EOFError, OSError) as err:
            raise ValueError(f"{path.name}: corrupt or truncated .npy file ({err})") from None
    arr = load_pickle_bytes(raw[stream.tell():], name=path.name)
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{path.name}: expected a pickled object array, got {type(arr).__name__}")
    if arr.shape != tuple(shape):
        raise ValueError(f"{path.name}: header shape {tuple(shape)} disagrees with the data {arr.shape}")
    return arr[()] if arr.ndim == 0 else arr
