"""Rasterizer backends with one contract: nvdiffrast on CUDA, the plain-torch rasterizer on CPU.

Both follow ``nvdiffrast.torch`` exactly (see :mod:`assetgen.render.raster_torch` for the conventions):

* ``rasterize(clip [B, N, 4] float32, faces [F, 3], (H, W)) -> rast [B, H, W, 4]`` (``u, v, z/w, tri + 1``;
  rows bottom first);
* ``interpolate(attr [N, C] | [B, N, C], rast, faces) -> [B, H, W, C]`` (0 where uncovered);
* ``texture(tex [1 | B, Ht, Wt, C], uv [B, H, W, 2], boundary="clamp" | "wrap") -> [B, H, W, C]``: bilinear,
  ``uv`` in texture-memory order: ``u`` along columns, ``v`` along rows, texel ``(r, c)`` centred at
  ``((c + 0.5) / Wt, (r + 0.5) / Ht)`` (nvdiffrast's ``dr.texture`` with ``filter_mode="linear"``).

:func:`get_backend` picks one: ``"auto"`` is CUDA when torch sees a GPU *and* nvdiffrast loads, else CPU (it never
fails for lack of a GPU); ``"cuda"`` raises ``RuntimeError`` naming the cause when it cannot run; ``"cpu"`` always
works. The nvdiffrast import quirk (its JIT-built plugin is not importable by name under torch ≥ 2.11 until the
build folder is on ``sys.path``; ../docs/ECOSYSTEM.md) is handled once here, in :func:`_import_nvdiffrast`, and
each device's ``RasterizeCudaContext`` is created on first use and cached by its backend.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import threading
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F

from assetgen.render import raster_torch

__all__ = ["BACKEND_NAMES", "Backend", "NvdiffrastBackend", "TorchBackend", "cuda_unavailable_reason",
           "get_backend"]

log = logging.getLogger(__name__)

BACKEND_NAMES = ("auto", "cuda", "cpu")


@runtime_checkable
class Backend(Protocol):
    """What the renderer needs from a rasterizer (tensor contracts in the module docstring)."""

    name: str
    device: torch.device

    def rasterize(self, clip: torch.Tensor, faces: torch.Tensor, resolution: tuple[int, int]) -> torch.Tensor: ...

    def interpolate(self, attr: torch.Tensor, rast: torch.Tensor, faces: torch.Tensor) -> torch.Tensor: ...

    def texture(self, tex: torch.Tensor, uv: torch.Tensor, boundary: str = "clamp") -> torch.Tensor: ...


def _check_boundary(boundary: str) -> None:
    if boundary not in ("clamp", "wrap"):
        raise ValueError(f"boundary: expected 'clamp' or 'wrap', got {boundary!r}")


def texture_torch(tex: torch.Tensor, uv: torch.Tensor, boundary: str = "clamp") -> torch.Tensor:
    """Bilinear texture lookup in plain torch with ``dr.texture``'s conventions (module docstring).

    ``tex [1 | B, Ht, Wt, C]``, ``uv [B, H, W, 2]`` → ``[B, H, W, C]`` in ``tex``'s dtype. Differentiable in both.
    """
    _check_boundary(boundary)
    if tex.ndim != 4 or uv.ndim != 4 or uv.shape[-1] != 2:
        raise ValueError(f"texture: expected tex [B, Ht, Wt, C] and uv [B, H, W, 2], got {tuple(tex.shape)} "
                         f"and {tuple(uv.shape)}")
    batch = uv.shape[0]
    img = tex.permute(0, 3, 1, 2)  # [B, C, Ht, Wt]
    uv = uv.to(tex.dtype)
    if boundary == "wrap":
        # Wrap by one texel of circular padding, then clamp inside the padded texture: exact bilinear wrap.
        ht, wt = tex.shape[1], tex.shape[2]
        img = torch.cat([img[..., -1:], img, img[..., :1]], dim=-1)
        img = torch.cat([img[..., -1:, :], img, img[..., :1, :]], dim=-2)
        uv = uv - torch.floor(uv)
        uv = torch.stack([(uv[..., 0] * wt + 1.0) / (wt + 2), (uv[..., 1] * ht + 1.0) / (ht + 2)], -1)
    if img.shape[0] == 1 and batch > 1:
        # one texture for the whole batch: sample all pixels in one call
        grid = (uv * 2.0 - 1.0).reshape(1, batch * uv.shape[1], uv.shape[2], 2)
        out = F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return out.permute(0, 2, 3, 1).reshape(batch, uv.shape[1], uv.shape[2], -1)
    if img.shape[0] != batch:
        raise ValueError(f"texture: texture batch {img.shape[0]} does not match the uv batch {batch}")
    out = F.grid_sample(img, uv * 2.0 - 1.0, mode="bilinear", padding_mode="border", align_corners=False)
    return out.permute(0, 2, 3, 1)


class TorchBackend:
    """The plain-torch rasterizer (:mod:`raster_torch`); runs on any torch device (meant for the CPU)."""

    name = "cpu"
    #: Coverage uses nvdiffrast's 1/16-pixel vertex snapping (see ``rasterize_torch``), so both backends
    #: cover the same pixels along shared edges.
    subpixel_bits = 4

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)

    def rasterize(self, clip: torch.Tensor, faces: torch.Tensor, resolution: tuple[int, int]) -> torch.Tensor:
        return raster_torch.rasterize_torch(clip.to(self.device, torch.float32), faces.to(self.device), resolution,
                                            subpixel_bits=self.subpixel_bits)

    def interpolate(self, attr: torch.Tensor, rast: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        return raster_torch.interpolate(attr, rast, faces)

    def texture(self, tex: torch.Tensor, uv: torch.Tensor, boundary: str = "clamp") -> torch.Tensor:
        return texture_torch(tex, uv, boundary)

    def __repr__(self) -> str:
        return f"TorchBackend(device={self.device})"


_NVDR_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _import_nvdiffrast():
    """Import ``nvdiffrast.torch`` with its JIT plugin's build folder on ``sys.path`` (ECOSYSTEM.md)."""
    import nvdiffrast
    import nvdiffrast.torch as dr
    from torch.utils import cpp_extension

    name = re.sub(r"\W|^(?=\d)", "_", f"nvdiffrast_plugin_{nvdiffrast.__version__}_torch{torch.__version__}")
    build_dir = cpp_extension._get_build_directory(name, False)
    if build_dir not in sys.path:
        sys.path.insert(0, build_dir)
    return dr


def cuda_unavailable_reason() -> str | None:
    """Why the CUDA backend cannot run here (``None`` when it can, as far as can be told without compiling)."""
    if not torch.cuda.is_available():
        return "torch sees no CUDA device (torch.cuda.is_available() is False)"
    try:
        _import_nvdiffrast()
    except Exception as exc:  # ImportError, or a broken install
        return f"nvdiffrast is not importable ({type(exc).__name__}: {exc}); install the 'diffrp-nvdiffrast' package"
    return None


class NvdiffrastBackend:
    """nvdiffrast's CUDA rasterizer (differentiable); its ``RasterizeCudaContext`` is created lazily and cached."""

    name = "cuda"

    def __init__(self, device: torch.device | str = "cuda") -> None:
        reason = cuda_unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"backend 'cuda' is unavailable: {reason}")
        device = torch.device(device)
        if device.type != "cuda":
            raise ValueError(f"device: the nvdiffrast backend needs a CUDA device, got {device}")
        self.device = torch.device("cuda", device.index if device.index is not None else torch.cuda.current_device())
        self._dr = _import_nvdiffrast()
        self._ctx = None

    @property
    def context(self):
        """The cached ``RasterizeCudaContext`` of this backend's device (built on first use: JIT-compiles the
        plugin on a fresh machine, ~30 s)."""
        if self._ctx is None:
            with _NVDR_LOCK:
                if self._ctx is None:
                    try:
                        self._ctx = self._dr.RasterizeCudaContext(device=self.device)
                    except Exception as exc:
                        raise RuntimeError(f"backend 'cuda': nvdiffrast could not build or load its CUDA plugin "
                                           f"({type(exc).__name__}: {exc})") from exc
        return self._ctx

    def rasterize(self, clip: torch.Tensor, faces: torch.Tensor, resolution: tuple[int, int]) -> torch.Tensor:
        clip = clip.to(self.device, torch.float32).contiguous()
        tri = faces.to(self.device, torch.int32).contiguous()
        rast, _ = self._dr.rasterize(self.context, clip, tri, (int(resolution[0]), int(resolution[1])),
                                     grad_db=False)
        return rast

    def interpolate(self, attr: torch.Tensor, rast: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        if attr.ndim == 2:
            attr = attr[None]
        out, _ = self._dr.interpolate(attr.to(self.device, torch.float32).contiguous(), rast,
                                      faces.to(self.device, torch.int32).contiguous())
        return out

    def texture(self, tex: torch.Tensor, uv: torch.Tensor, boundary: str = "clamp") -> torch.Tensor:
        _check_boundary(boundary)
        return self._dr.texture(tex.to(self.device, torch.float32).contiguous(),
                                uv.to(self.device, torch.float32).contiguous(),
                                filter_mode="linear", boundary_mode=boundary)

    def __repr__(self) -> str:
        return f"NvdiffrastBackend(device={self.device})"


_BACKENDS: dict[tuple[str, str], Backend] = {}


def get_backend(name: str | Backend = "auto", device: torch.device | str | None = None) -> Backend:
    """A backend by name: ``"auto"`` (CUDA if usable, else CPU), ``"cuda"`` or ``"cpu"``; a backend object is
    returned as is.

    Backends are cached per (name, device) so the CUDA context is built once per process and device.
    Raises ``ValueError`` for an unknown name and ``RuntimeError`` when ``"cuda"`` is forced but unusable.
    """
    if not isinstance(name, str):
        if isinstance(name, Backend):
            return name
        raise ValueError(f"backend: expected one of {BACKEND_NAMES} or a Backend, got {type(name).__name__}")
    if name not in BACKEND_NAMES:
        raise ValueError(f"backend: unknown backend {name!r}; expected one of {BACKEND_NAMES}")
    if name == "auto":
        wants_cpu = device is not None and torch.device(device).type == "cpu"
        reason = "a CPU device was requested" if wants_cpu else cuda_unavailable_reason()
        if reason is None:
            try:
                backend = get_backend("cuda", device)
                backend.context  # noqa: B018 - builds (or loads) the CUDA plugin now, so failures fall back here
                return backend
            except RuntimeError as exc:
                reason = str(exc)
                log.warning("backend 'auto' falls back to the CPU: %s", reason)
        log.debug("backend 'auto' uses the CPU: %s", reason)
        return get_backend("cpu")
    key = (name, str(device) if device is not None else "")
    with _NVDR_LOCK:
        hit = _BACKENDS.get(key)
    if hit is not None:
        return hit
    backend: Backend = TorchBackend(device or "cpu") if name == "cpu" else NvdiffrastBackend(device or "cuda")
    with _NVDR_LOCK:
        return _BACKENDS.setdefault(key, backend)
