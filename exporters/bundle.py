"""One head's bundle folder: ``head.glb`` (+ ``head.fbx``), ``textures/*.png``, ``manifest.json``, ``preview.png``.

Layout of a bundle::

    head.glb                 the game-ready asset (glTF 2.0 binary, validator-clean)
    head.fbx                 with --format fbx|both (Blender worker; Unity or Unreal preset)
    textures/albedo.png      1K sRGB base colour            textures/normal.png  tangent-space (glTF/OpenGL)
    textures/orm.png         R occlusion, G roughness, B metallic (linear)
    textures/displacement.png 16-bit; textures/displacement.json: meters = offset_m + value / 65535 * scale_m
    preview.png              RGBA portrait with the spec's lighting
    cache/<clip>.pc2         with vertex_cache: each clip baked per frame on LOD0 (exporters.vertex_cache)
    cache/vertex_cache.json  fps, part vertex ranges, clips, Blender Mesh Cache settings
    manifest.json            the resolved HeadSpec (named values), provenance, the clips (name, duration, keys),
                             file sizes and sha256

Folders are written atomically (assembled under a temporary name, then renamed). Files depend only on the
spec, the options and the versions, so the same request gives byte-identical bundles on the CPU.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assetgen.io import atomic_folder, atomic_write_bytes, encode_png, json_bytes
from assetgen.pipeline import GeneratedHead
from assetgen.textures.files import texture_files
from exporters.gltf import export_glb

__all__ = ["BUNDLE_FORMAT_VERSION", "FORMATS", "BundleOptions", "bundle_files", "write_bundle"]

BUNDLE_FORMAT_VERSION = 1
FORMATS = ("glb", "fbx", "both")


@dataclass(frozen=True)
class BundleOptions:
    """What a bundle holds.

    Attributes:
        format: ``"glb"``, ``"fbx"`` (converted from the glb, which is then left out) or ``"both"``.
        fbx_preset: ``"unity"`` (meters, Y up) or ``"unreal"`` (centimeters, Z up).
        png_compress_level: zlib level of the texture PNGs (1 is fast; 6 is ~8 % smaller and 3× slower).
        vertex_cache: also bake every animation clip into a PC2 point cache (``cache/``); needs clips.
        vertex_cache_fps: frames per second of the baked caches (1..240).
    """

    format: str = "glb"
    fbx_preset: str = "unity"
    png_compress_level: int = 1
    vertex_cache: bool = False
    vertex_cache_fps: float = 30.0

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format: expected one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.fbx_preset not in ("unity", "unreal"):
            raise ValueError(f"fbx_preset: expected 'unity' or 'unreal', got {self.fbx_preset!r}")
        if not 0 <= self.png_compress_level <= 9:
            raise ValueError(f"png_compress_level: expected 0..9, got {self.png_compress_level!r}")
        if not isinstance(self.vertex_cache, bool):
            raise ValueError(f"vertex_cache: expected true or false, got {self.vertex_cache!r}")
        if not (isinstance(self.vertex_cache_fps, (int, float)) and 1 <= self.vertex_cache_fps <= 240):
            raise ValueError(f"vertex_cache_fps: expected 1..240 frames per second, got {self.vertex_cache_fps!r}")


def bundle_files(head: GeneratedHead, options: BundleOptions = BundleOptions()) -> dict[str, bytes]:
    """Everything of a bundle but the FBX and the manifest, as relative path → bytes (pure)."""
    level = options.png_compress_level
    files = {"head.glb": export_glb(head.asset, png_compress_level=level)}
    files.update({f"textures/{name}": data
                  for name, data in texture_files(head.textures, compress_level=level).items()})
    if options.vertex_cache:
        from exporters.vertex_cache import vertex_cache_files

        files.update(vertex_cache_files(head.asset, fps=options.vertex_cache_fps))
    if head.preview is not None:
        rgba = np.clip(np.round(np.asarray(head.preview, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
        files["preview.png"] = encode_png(rgba, compress_level=level)
    return files


def manifest(head: GeneratedHead, files: dict[str, bytes], options: BundleOptions) -> dict[str, Any]:
    """The bundle's manifest: resolved spec, provenance, LOD triangle counts, file sizes and hashes."""
    return {
        "format": "assetgen.bundle",
        "format_version": BUNDLE_FORMAT_VERSION,
        "spec_hash": head.spec.hash,
        "spec": head.spec.to_dict(),
        "provenance": head.provenance,
        "lods": [sum(int(p.faces.shape[0]) for p in lod.parts) for lod in head.asset.lods],
        "morph_targets": len(head.asset.morph_target_names),
        "texture_size": head.textures.size,
        "animations": [{"name": a.name, "duration_s": round(float(a.times[-1]), 6), "keys": int(a.times.shape[0]),
                        "morph_weights": a.morph_weights is not None, "joints": sorted(a.joint_rotations)}
                       for a in head.asset.animations],
        "fbx_preset": options.fbx_preset if options.format in ("fbx", "both") else None,
        "files": {name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                  for name, data in sorted(files.items())},
    }


def write_bundle(head: GeneratedHead, folder: str | Path, options: BundleOptions = BundleOptions(), *,
                 replace: bool = False) -> dict[str, Any]:
    """Write one head's bundle folder atomically; returns its manifest.

    Raises ``FileExistsError`` when ``folder`` exists and ``replace`` is false, and ``RuntimeError`` from the
    FBX step when Blender is missing (the message names the install step).
    """
    files = bundle_files(head, options)
    with atomic_folder(folder, replace=replace) as tmp:
        (tmp / "textures").mkdir()
        if options.vertex_cache:
            (tmp / "cache").mkdir()
        if options.format in ("fbx", "both"):
            from exporters.fbx import export_fbx

            export_fbx(files["head.glb"], tmp / "head.fbx", preset=options.fbx_preset)
            files["head.fbx"] = (tmp / "head.fbx").read_bytes()
            if options.format == "fbx":
                del files["head.glb"]  # the FBX is converted from it; "both" keeps it
        for name, data in files.items():
            if name != "head.fbx":
                atomic_write_bytes(tmp / name, data)
        doc = manifest(head, files, options)
        atomic_write_bytes(tmp / "manifest.json", json_bytes(doc))
    return doc
