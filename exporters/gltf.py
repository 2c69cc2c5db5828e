"""glTF 2.0 binary (.glb) export of a :class:`~assetgen.asset.HeadAsset`: ``export_glb(asset) -> bytes``.

What the file holds (meters, +Y up, face toward +Z):

* one node per joint (translation-only rest transforms, hierarchy from ``Skeleton.parents``) and one skin
  over all joints, including joints without weights (eyes, tongue root) so they can be animated;
* one mesh per LOD, ``{name}_LOD{l}``, with one primitive per part (skin, eyes, tongue, teeth), each with
  POSITION (min/max), NORMAL, TEXCOORD_0 as ``(u, 1 − v)``, JOINTS_0/WEIGHTS_0 (≤ 4 influences), TANGENT
  where the material has a normal map, and one morph target (POSITION and NORMAL deltas, min/max, sparse
  where that is smaller) per ``asset.morph_target_names`` entry, listed in ``mesh.extras.targetNames``;
  every LOD node is a root node of the scene, skinned to the same skin;
* metallic-roughness materials; the ORM image serves both ``occlusionTexture`` and
  ``metallicRoughnessTexture``; images are embedded PNGs (deterministic bytes);
* animations when the asset has some (morph weights on every LOD node, joint rotations);
* ``asset.extras`` = ``asset.provenance`` verbatim.

The module is split the way glTF-Blender-IO is: ``_gather_*`` functions build glTF objects from the asset,
:class:`exporters.gltf_buffers.GlbWriter` owns bytes and offsets. Same asset and options → byte-identical
output.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields

import numpy as np
import pygltflib
from PIL import Image
from pygltflib import (
    Attributes,
    Mesh,
    Node,
    NormalMaterialTexture,
    OcclusionTextureInfo,
    PbrMetallicRoughness,
    Primitive,
    Scene,
    Skin,
    TextureInfo,
)

import assetgen
from assetgen.asset.types import Animation, HeadAsset, LevelOfDetail, Material, MeshPart, TextureImage
from exporters.gltf_buffers import ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER, GlbWriter

__all__ = ["GlbOptions", "export_glb"]

_LINEAR = 9729
_LINEAR_MIPMAP_LINEAR = 9987
_REPEAT = 10497


@dataclass(frozen=True)
class GlbOptions:
    """Settings of :func:`export_glb`.

    Attributes:
        png_compress_level: zlib level of the embedded PNGs, 0–9 (1K maps: level 1 ≈ 40 ms a map, level 6
            ≈ 5× slower for ~10 % smaller files; see ``benchmarks/bench_export.py``).
        png_threads: threads encoding the images in parallel (Pillow releases the GIL while compressing).
        sparse_morphs: store morph deltas as sparse accessors where that is smaller.
        morph_normals: write NORMAL deltas in the morph targets (else POSITION only).
        morph_normal_lods: write NORMAL deltas for the first this many LODs only (default 1: LOD0). Distant
            LODs then shade their blendshapes with the base normals, invisible at their screen size, and the
            glb stays under 6 MB with 1K maps. ``None``: every LOD.
        lods: write only the first ``lods`` levels (``None``: all of the asset's).
    """

    png_compress_level: int = 1
    png_threads: int = 2
    sparse_morphs: bool = True
    morph_normals: bool = True
    morph_normal_lods: int | None = 1
    lods: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.png_compress_level, bool) or self.png_compress_level not in range(10):
            raise ValueError(f"png_compress_level: expected an integer in [0, 9], got {self.png_compress_level!r}")
        if isinstance(self.png_threads, bool) or not isinstance(self.png_threads, int) or self.png_threads < 1:
            raise ValueError(f"png_threads: expected a positive integer, got {self.png_threads!r}")
        for name in ("lods", "morph_normal_lods"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ValueError(f"{name}: expected a positive integer or None, got {v!r}")


def export_glb(asset: HeadAsset, **options) -> bytes:
    """Encode ``asset`` as a binary glTF 2.0 file (see the module docstring for its layout).

    Args:
        asset: the head (``assetgen.asset.build_head_asset``).
        **options: fields of :class:`GlbOptions`.
    Returns:
        The ``.glb`` bytes.
    Raises:
        ValueError: ``asset`` is not a HeadAsset, an unknown or invalid option, ``lods`` above the asset's
            levels, or texture images sharing a name with different pixels.
    """
    known = {f.name for f in fields(GlbOptions)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"options: unknown {unknown}; accepted: {sorted(known)}")
    opts = GlbOptions(**options)
    if not isinstance(asset, HeadAsset):
        raise ValueError(f"asset: expected an assetgen.asset.HeadAsset, got {type(asset).__name__}")
    lods = asset.lods if opts.lods is None else asset.lods[: opts.lods]
    if opts.lods is not None and opts.lods > asset.num_lods:
        raise ValueError(f"lods: the asset has {asset.num_lods} levels of detail, asked for {opts.lods}")

    w = GlbWriter()
    g = w.gltf
    g.asset = pygltflib.Asset(generator=f"assetgen {assetgen.__version__} (pygltflib {pygltflib.__version__})",
                              version="2.0")
    joint_nodes = _gather_skeleton(w, asset)
    material_index = _gather_materials(w, asset, opts)
    lod_nodes = []
    for lod in lods:
        g.meshes.append(_gather_mesh(w, asset, lod, material_index, opts))
        g.nodes.append(Node(name=f"{asset.name}_LOD{lod.level}", mesh=len(g.meshes) - 1, skin=0,
                            extras={"lod": lod.level}))
        lod_nodes.append(len(g.nodes) - 1)
    for anim in asset.animations:
        g.animations.append(_gather_animation(w, asset, anim, joint_nodes, lod_nodes))
    roots = [joint_nodes[j] for j in asset.skeleton.roots]
    g.scenes = [Scene(name=asset.name, nodes=roots + lod_nodes)]
    g.scene = 0
    return w.to_glb(asset_extras=asset.provenance)


# ------------------------------------------------------------------------------------------- skeleton
def _gather_skeleton(w: GlbWriter, asset: HeadAsset) -> list[int]:
    """Joint nodes and the skin (index 0); returns the node index of each joint."""
    sk = asset.skeleton
    g = w.gltf
    first = len(g.nodes)
    for j, name in enumerate(sk.names):
        children = [first + c for c, p in enumerate(sk.parents) if p == j]
        g.nodes.append(Node(name=name, translation=[float(x) for x in sk.local_translations[j]], children=children))
    nodes = list(range(first, first + sk.num_joints))
    ibm = np.ascontiguousarray(sk.inverse_bind_matrices.transpose(0, 2, 1))  # glTF matrices are column-major
    g.skins.append(Skin(name=f"{asset.name}_skeleton", joints=nodes,
                        inverseBindMatrices=w.accessor(ibm, name="inverse_bind_matrices"),
                        skeleton=nodes[sk.roots[0]] if len(sk.roots) == 1 else None))
    return nodes


# ------------------------------------------------------------------------------------------- materials
def _encode_png(image: TextureImage, level: int) -> bytes:
    px = image.pixels
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[px.shape[2]]
    buf = io.BytesIO()
    Image.fromarray(px[..., 0] if mode == "L" else px, mode=mode).save(buf, format="PNG",
                                                                     compress_level=level)
    return buf.getvalue()


def _gather_materials(w: GlbWriter, asset: HeadAsset, opts: GlbOptions) -> dict[str, int]:
    """Images, textures (one sampler) and materials; returns material name → index."""
    g = w.gltf
    images: dict[str, TextureImage] = {}
    for m in asset.materials:
        for t in m.textures:
            seen = images.setdefault(t.name, t)
            if seen is not t and not np.array_equal(seen.pixels, t.pixels):
                raise ValueError(f"asset.materials: two different texture images are both named {t.name!r}")
    texture_index: dict[str, int] = {}
    if images:
        ordered = list(images.values())
        with ThreadPoolExecutor(max_workers=min(opts.png_threads, len(ordered))) as pool:
            pngs = list(pool.map(lambda t: _encode_png(t, opts.png_compress_level), ordered))
        g.samplers.append(pygltflib.Sampler(magFilter=_LINEAR, minFilter=_LINEAR_MIPMAP_LINEAR, wrapS=_REPEAT,
                                            wrapT=_REPEAT))
        for t, png in zip(ordered, pngs):
            image = w.image(png, name=t.name)
            g.textures.append(pygltflib.Texture(sampler=0, source=image, name=t.name))
            texture_index[t.name] = len(g.textures) - 1
    out = {}
    for m in asset.materials:
        g.materials.append(_gather_material(m, texture_index))
        out[m.name] = len(g.materials) - 1
    return out


def _gather_material(m: Material, texture_index: dict[str, int]) -> pygltflib.Material:
    pbr = PbrMetallicRoughness(baseColorFactor=[float(x) for x in m.base_color_factor],
                               metallicFactor=float(m.metallic_factor), roughnessFactor=float(m.roughness_factor))
    mat = pygltflib.Material(name=m.name, pbrMetallicRoughness=pbr, doubleSided=bool(m.double_sided),
                             alphaMode=pygltflib.OPAQUE)
    if m.base_color_texture is not None:
        pbr.baseColorTexture = TextureInfo(index=texture_index[m.base_color_texture.name])
    if m.orm_texture is not None:
        orm = texture_index[m.orm_texture.name]
        pbr.metallicRoughnessTexture = TextureInfo(index=orm)
        mat.occlusionTexture = OcclusionTextureInfo(index=orm, strength=1.0)
    if m.normal_texture is not None:
        mat.normalTexture = NormalMaterialTexture(index=texture_index[m.normal_texture.name], scale=1.0)
    return mat


# ------------------------------------------------------------------------------------------- meshes
def _gather_mesh(w: GlbWriter, asset: HeadAsset, lod: LevelOfDetail, material_index: dict[str, int],
                 opts: GlbOptions) -> Mesh:
    normals = opts.morph_normals and (opts.morph_normal_lods is None or lod.level < opts.morph_normal_lods)
    prims = [_gather_primitive(w, asset, part, material_index, opts, normals) for part in lod.parts]
    mesh = Mesh(name=f"{asset.name}_LOD{lod.level}", primitives=prims)
    if asset.morph_target_names:
        mesh.extras = {"targetNames": list(asset.morph_target_names)}
    if asset.default_weights:
        mesh.weights = [float(w) for w in asset.default_weights]
    return mesh


def _gather_primitive(w: GlbWriter, asset: HeadAsset, part: MeshPart, material_index: dict[str, int],
                      opts: GlbOptions, morph_normals: bool) -> Primitive:
    n = part.num_vertices
    uv = part.uvs.copy()
    uv[:, 1] = 1.0 - uv[:, 1]  # OBJ-style v up → glTF v down
    joints = part.joints.astype(np.uint8) if asset.skeleton.num_joints <= 256 else part.joints
    attrs = Attributes(
        POSITION=w.accessor(part.positions, target=ARRAY_BUFFER, min_max=True),
        NORMAL=w.accessor(part.normals, target=ARRAY_BUFFER),
        TEXCOORD_0=w.accessor(uv, target=ARRAY_BUFFER),
        JOINTS_0=w.accessor(joints, target=ARRAY_BUFFER),
        WEIGHTS_0=w.accessor(part.weights, target=ARRAY_BUFFER),
    )
    if asset.material(part.material).normal_texture is not None:
        attrs.TANGENT = w.accessor(part.tangents, target=ARRAY_BUFFER)
    index_dtype = np.uint16 if n < 0xFFFF else np.uint32  # 65535 is the primitive-restart value
    targets = []
    for t in range(part.morph_positions.shape[0]):
        target = Attributes(POSITION=w.morph_accessor(part.morph_positions[t], sparse=opts.sparse_morphs))
        if morph_normals:
            target.NORMAL = w.morph_accessor(part.morph_normals[t], sparse=opts.sparse_morphs)
        targets.append(target)
    return Primitive(attributes=attrs, indices=w.accessor(part.faces.reshape(-1).astype(index_dtype),
                                                          target=ELEMENT_ARRAY_BUFFER),
                     material=material_index[part.material], mode=pygltflib.TRIANGLES, targets=targets,
                     extras={"part": part.name})


# ------------------------------------------------------------------------------------------- animation
def _gather_animation(w: GlbWriter, asset: HeadAsset, anim: Animation, joint_nodes: list[int],
                      lod_nodes: list[int]) -> pygltflib.Animation:
    """One glTF animation: morph weights on every LOD node, rotations on the named joints (LINEAR)."""
    out = pygltflib.Animation(name=anim.name)
    times = w.accessor(anim.times, min_max=True, name=f"{anim.name}_times")

    def channel(node: int, path: str, output: int) -> None:
        out.samplers.append(pygltflib.AnimationSampler(input=times, output=output, interpolation="LINEAR"))
        out.channels.append(pygltflib.AnimationChannel(
            sampler=len(out.samplers) - 1, target=pygltflib.AnimationChannelTarget(node=node, path=path)))

    if anim.morph_weights is not None and asset.morph_target_names:
        weights = w.accessor(np.ascontiguousarray(anim.morph_weights).reshape(-1), name=f"{anim.name}_weights")
        for node in lod_nodes:
            channel(node, "weights", weights)
    names = list(asset.skeleton.names)
    for joint in sorted(anim.joint_rotations, key=names.index):
        q = anim.joint_rotations[joint]
        rot = w.accessor(np.ascontiguousarray(q / np.linalg.norm(q, axis=1, keepdims=True), dtype=np.float32),
                         name=f"{anim.name}_{joint}_rotation")
        channel(joint_nodes[names.index(joint)], "rotation", rot)
    return out


if __name__ == "__main__":  # `python -m exporters.gltf …`: the pack command line (exporters/cli.py)
    import sys

    from exporters.cli import main

    sys.exit(main())
