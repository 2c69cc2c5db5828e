"""exporters.gltf: export_glb checked by the Khronos glTF-Validator and read back with pygltflib."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pygltflib
import pytest
import torch
from asset_helpers import ARKIT_52, make_textures
from flame_fixture import write_flame_folder
from real_tools import require_tool

import assetgen.heads
from assetgen.asset import Animation, HeadAsset, build_head_asset
from exporters.gltf import GlbOptions, export_glb

JS_DIR = Path(__file__).parent / "js"
VALIDATOR = JS_DIR / "node_modules" / "gltf-validator" / "package.json"
_DTYPES = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


def validator_missing() -> str | None:
    """Why the validator cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed (install Node.js >= 18 and run scripts/setup.sh)"
    if not VALIDATOR.exists():
        return ("npm package gltf-validator is not installed in tests/js "
                "(run scripts/setup.sh, which runs npm ci --prefix tests/js)")
    return None


def validate(paths: list[Path]) -> list[dict]:
    """Khronos glTF-Validator reports for ``paths`` (one Node process for all)."""
    proc = subprocess.run(["node", str(JS_DIR / "validate.mjs"), *map(str, paths)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# ---------------------------------------------------------------------------------------------- reading
class Glb:
    """A parsed .glb with accessor decoding (dense and sparse)."""

    def __init__(self, data: bytes):
        self.gltf = pygltflib.GLTF2.load_from_bytes(data)
        self.blob = self.gltf.binary_blob()

    def view_bytes(self, index: int) -> bytes:
        bv = self.gltf.bufferViews[index]
        return self.blob[bv.byteOffset or 0: (bv.byteOffset or 0) + bv.byteLength]

    def read(self, index: int) -> np.ndarray:
        acc = self.gltf.accessors[index]
        width, dtype = _WIDTH[acc.type], _DTYPES[acc.componentType]
        if acc.bufferView is None:
            out = np.zeros((acc.count, width), dtype)
        else:
            raw = self.view_bytes(acc.bufferView)[acc.byteOffset or 0:]
            out = np.frombuffer(raw, dtype, count=acc.count * width).reshape(acc.count, width).copy()
        if acc.sparse is not None:
            sp = acc.sparse
            idx = np.frombuffer(self.view_bytes(sp.indices.bufferView)[sp.indices.byteOffset or 0:],
                                _DTYPES[sp.indices.componentType], count=sp.count)
            vals = np.frombuffer(self.view_bytes(sp.values.bufferView)[sp.values.byteOffset or 0:], dtype,
                                 count=sp.count * width).reshape(sp.count, width)
            out[idx] = vals
        return out


def target(prim, t: int, key: str) -> int:
    """Accessor index of morph target ``t``'s attribute ``key`` (pygltflib reads targets as dicts)."""
    entry = prim.targets[t]
    return entry[key] if isinstance(entry, dict) else getattr(entry, key)


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def open_model():
    return assetgen.heads.load("open")


@pytest.fixture(scope="module")
def shape(open_model):
    g = torch.Generator().manual_seed(11)
    return ((torch.rand(open_model.num_shape, generator=g) - 0.5) * 0.4).to(open_model.dtype)


@pytest.fixture(scope="module")
def textures():
    return make_textures(64, seed=4)


@pytest.fixture(scope="module")
def assets(open_model, shape, textures, tmp_path_factory) -> dict[str, HeadAsset]:
    fx = write_flame_folder(tmp_path_factory.mktemp("flame"), num_shape=20, num_expression=10, seed=3)
    flame = assetgen.heads.load(fx.folder, shape_space_dim=20)  # with the fixture's head_template.obj UVs
    prov = {"seed": 42, "spec_hash": "abc123", "generator": {"name": "test", "version": "0"}, "weights": None}
    out = {
        "open_lod1_flat": build_head_asset(open_model, shape, None, lods=1, provenance=prov),
        "open_lod1_tex": build_head_asset(open_model, shape, textures, lods=1, provenance=prov),
        "open_lod3_flat": build_head_asset(open_model, shape, None, lods=3, provenance=prov),
        "open_lod3_tex": build_head_asset(open_model, shape, textures, lods=3, provenance=prov),
        "flame_lod3_tex": build_head_asset(flame, None, make_textures(32), lods=3, provenance=prov, name="flame"),
    }
    k = 5
    t = len(ARKIT_52)
    weights = np.zeros((k, t), np.float32)
    weights[:, ARKIT_52.index("jawOpen")] = [0.0, 0.5, 1.0, 0.5, 0.0]
    angle = np.linspace(0.0, 0.3, k)
    jaw = np.stack([np.sin(angle / 2), np.zeros(k), np.zeros(k), np.cos(angle / 2)], 1).astype(np.float32)
    clip = Animation("jaw_open", times=np.linspace(0, 1, k).astype(np.float32), morph_weights=weights,
                     joint_rotations={"jaw": jaw})
    out["open_lod3_anim"] = dataclasses.replace(out["open_lod3_tex"], animations=(clip,))
    smile = torch.zeros(t)
    smile[[ARKIT_52.index("mouthSmileLeft"), ARKIT_52.index("mouthSmileRight")]] = 0.7
    out["open_lod2_smile"] = build_head_asset(open_model, shape, textures, lods=2, provenance=prov, expression=smile)
    return out


@pytest.fixture(scope="module")
def glbs(assets) -> dict[str, bytes]:
    return {name: export_glb(a) for name, a in assets.items()}


# ---------------------------------------------------------------------------------------------- validator
def test_khronos_validator_clean(glbs, tmp_path):
    require_tool(validator_missing())
    paths = []
    for name, data in glbs.items():
        paths.append(tmp_path / f"{name}.glb")
        paths[-1].write_bytes(data)
    reports = validate(paths)
    failures = []
    for name, report in zip(glbs, reports):
        issues = report["issues"]
        codes = sorted({(m["code"], m["severity"]) for m in issues["messages"]})
        print(f"{name}: {issues['numErrors']} errors, {issues['numWarnings']} warnings, {issues['numInfos']} infos, "
              f"{issues['numHints']} hints {codes}")
        if issues["numErrors"] or issues["numWarnings"]:
            failures.append((name, [m for m in issues["messages"] if m["severity"] <= 1][:10]))
    assert not failures, failures


# ---------------------------------------------------------------------------------------------- structure
def test_open_structure(glbs, assets, open_model):
    asset = assets["open_lod3_tex"]
    glb = Glb(glbs["open_lod3_tex"])
    g = glb.gltf
    assert [m.name for m in g.meshes] == ["head_LOD0", "head_LOD1", "head_LOD2"]
    lod_nodes = [n for n in g.nodes if n.mesh is not None]
    assert [n.name for n in lod_nodes] == ["head_LOD0", "head_LOD1", "head_LOD2"]
    assert all(n.skin == 0 for n in lod_nodes)
    scene = g.scenes[g.scene]
    assert set(scene.nodes) == {g.nodes.index(n) for n in lod_nodes} | {0}  # the root joint and the LOD nodes
    # Skeleton: every model joint, with its name, hierarchy and rest translation.
    skin = g.skins[0]
    assert [g.nodes[j].name for j in skin.joints] == open_model.joint_names
    for j, parent in enumerate(open_model.joint_parents):
        if parent >= 0:
            assert skin.joints[j] in g.nodes[skin.joints[parent]].children
    ibm = glb.read(skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
    np.testing.assert_allclose(ibm[:, :3, 3], -asset.skeleton.rest_positions, atol=1e-7)
    world = np.zeros((len(skin.joints), 3))
    for j, parent in enumerate(open_model.joint_parents):
        world[j] = np.array(g.nodes[skin.joints[j]].translation) + (world[parent] if parent >= 0 else 0)
    np.testing.assert_allclose(world, asset.skeleton.rest_positions, atol=1e-6)
    # Morph targets: the 52 ARKit names on every LOD mesh, 52 targets on every primitive.
    for mesh in g.meshes:
        assert mesh.extras["targetNames"] == ARKIT_52
        assert all(len(p.targets) == 52 for p in mesh.primitives)
    # Provenance, verbatim (None values survive).
    extras = g.asset.extras
    assert extras["seed"] == 42 and extras["spec_hash"] == "abc123" and extras["weights"] is None
    assert extras["head_model"]["license"] == open_model.license and extras["assetgen_version"]
    assert extras["textures"]["generator"] == "test"


def test_open_attributes_round_trip(glbs, assets):
    asset = assets["open_lod3_tex"]
    glb = Glb(glbs["open_lod3_tex"])
    for lod, mesh in zip(asset.lods, glb.gltf.meshes):
        for part, prim in zip(lod.parts, mesh.primitives):
            a = prim.attributes
            np.testing.assert_array_equal(glb.read(a.POSITION), part.positions)
            acc = glb.gltf.accessors[a.POSITION]
            np.testing.assert_array_equal(acc.min, part.positions.min(0))
            np.testing.assert_array_equal(acc.max, part.positions.max(0))
            np.testing.assert_array_equal(glb.read(a.NORMAL), part.normals)
            np.testing.assert_array_equal(glb.read(a.TANGENT), part.tangents)
            uv = glb.read(a.TEXCOORD_0)
            np.testing.assert_array_equal(uv[:, 0], part.uvs[:, 0])
            np.testing.assert_allclose(uv[:, 1], 1.0 - part.uvs[:, 1], atol=1e-7)  # glTF v points down
            np.testing.assert_array_equal(glb.read(prim.indices).reshape(-1, 3), part.faces)
            joints, weights = glb.read(a.JOINTS_0), glb.read(a.WEIGHTS_0)
            assert weights.shape[1] == 4 and np.abs(weights.astype(np.float64).sum(1) - 1).max() < 2e-7
            assert (joints[weights == 0] == 0).all()
            np.testing.assert_array_equal(joints, part.joints)
            for t in (0, ARKIT_52.index("jawOpen"), 51):
                np.testing.assert_array_equal(glb.read(target(prim, t, "POSITION")), part.morph_positions[t])
                if lod.level == 0:  # morph normals are written for LOD0 only (GlbOptions.morph_normal_lods)
                    np.testing.assert_array_equal(glb.read(target(prim, t, "NORMAL")), part.morph_normals[t])
                acc = glb.gltf.accessors[target(prim, t, "POSITION")]
                assert acc.min is not None and acc.max is not None and len(acc.min) == 3


def test_lod_morphs_match_lod0_in_file(glbs, assets):
    """Morph deltas of LOD1 and LOD2 equal LOD0's at the mapped vertices, read back from the file."""
    asset = assets["open_lod3_tex"]
    glb = Glb(glbs["open_lod3_tex"])
    jaw = ARKIT_52.index("jawOpen")
    tri = [sum(glb.read(p.indices).shape[0] // 3 for p in m.primitives) for m in glb.gltf.meshes]
    assert abs(tri[1] / tri[0] - 0.5) <= 0.05 and abs(tri[2] / tri[0] - 0.25) <= 0.025
    for level in (1, 2):
        for i, part in enumerate(asset.lods[level].parts):
            d0 = glb.read(target(glb.gltf.meshes[0].primitives[i], jaw, "POSITION"))
            d = glb.read(target(glb.gltf.meshes[level].primitives[i], jaw, "POSITION"))
            np.testing.assert_array_equal(d, d0[part.lod0_vertex])


def test_materials_and_textures(glbs):
    g = Glb(glbs["open_lod3_tex"]).gltf
    assert [im.mimeType for im in g.images] == ["image/png"] * 3
    assert [im.name for im in g.images] == ["head_albedo", "head_normal", "head_orm"]
    assert [m.name for m in g.materials] == ["skin", "eye", "tongue"]
    for m in g.materials:
        pbr = m.pbrMetallicRoughness
        assert g.textures[pbr.baseColorTexture.index].source == 0
        assert g.textures[m.normalTexture.index].source == 1
        assert pbr.metallicRoughnessTexture.index == m.occlusionTexture.index  # ORM shared
        assert g.textures[m.occlusionTexture.index].source == 2
    blob = g.binary_blob()
    for im in g.images:
        bv = g.bufferViews[im.bufferView]
        assert blob[bv.byteOffset: bv.byteOffset + 8] == b"\x89PNG\r\n\x1a\n"
    flat = Glb(glbs["open_lod3_flat"]).gltf
    assert not flat.images and not flat.textures
    assert all(p.attributes.TANGENT is None for m in flat.meshes for p in m.primitives)
    assert all(m.pbrMetallicRoughness.baseColorTexture is None for m in flat.materials)


def test_flame_structure(glbs, assets):
    asset = assets["flame_lod3_tex"]
    g = Glb(glbs["flame_lod3_tex"]).gltf
    assert [m.name for m in g.meshes] == ["flame_LOD0", "flame_LOD1", "flame_LOD2"]
    assert g.meshes[0].extras["targetNames"] == list(asset.morph_target_names) == [f"expr{i:03d}" for i in range(10)]
    assert [g.nodes[j].name for j in g.skins[0].joints] == ["global", "neck", "jaw", "eye_left", "eye_right"]
    assert "non-commercial" in g.asset.extras["head_model"]["license"]


def test_animation(glbs):
    glb = Glb(glbs["open_lod3_anim"])
    g = glb.gltf
    (anim,) = g.animations
    assert anim.name == "jaw_open"
    paths = sorted((g.nodes[c.target.node].name, c.target.path) for c in anim.channels)
    assert paths == [("head_LOD0", "weights"), ("head_LOD1", "weights"), ("head_LOD2", "weights"),
                     ("jaw", "rotation")]
    weights = glb.read(anim.samplers[0].output).reshape(5, 52)
    assert weights[2, ARKIT_52.index("jawOpen")] == 1.0


# ---------------------------------------------------------------------------------------------- options, determinism
def test_deterministic(assets, glbs, open_model, shape, textures):
    assert export_glb(assets["open_lod3_tex"]) == glbs["open_lod3_tex"]
    rebuilt = build_head_asset(open_model, shape, textures, lods=3, provenance=dict(assets["open_lod3_tex"].provenance))
    assert export_glb(rebuilt) == glbs["open_lod3_tex"]
    assert export_glb(assets["open_lod3_tex"], png_threads=1) == glbs["open_lod3_tex"]


def test_default_weights_are_the_specs_expression(glbs, assets):
    gltf = Glb(glbs["open_lod2_smile"]).gltf
    for mesh in gltf.meshes:
        weights = np.asarray(mesh.weights)
        assert weights.shape == (52,)
        assert weights[ARKIT_52.index("mouthSmileLeft")] == pytest.approx(0.7)
        assert np.count_nonzero(weights) == 2
    assert all(not m.weights for m in Glb(glbs["open_lod3_tex"]).gltf.meshes)  # neutral: no weights
    with pytest.raises(ValueError, match="expression"):
        build_head_asset(assetgen.heads.load("open"), None, None, lods=1, provenance={}, expression=torch.ones(3))


def test_options(assets, glbs):
    asset = assets["open_lod3_tex"]
    one = Glb(export_glb(asset, lods=1)).gltf
    assert [m.name for m in one.meshes] == ["head_LOD0"]
    lean = Glb(export_glb(asset, morph_normals=False)).gltf
    assert all("NORMAL" not in t and "POSITION" in t for m in lean.meshes for p in m.primitives for t in p.targets)
    default = Glb(glbs["open_lod3_tex"]).gltf  # morph normals on LOD0 only (size budget)
    assert [all("NORMAL" in t for p in m.primitives for t in p.targets) for m in default.meshes] == [True, False, False]
    full = Glb(export_glb(asset, morph_normal_lods=None)).gltf
    assert all("NORMAL" in t for m in full.meshes for p in m.primitives for t in p.targets)
    dense = export_glb(asset, sparse_morphs=False)
    assert len(dense) > len(glbs["open_lod3_tex"])
    d, s = Glb(dense), Glb(glbs["open_lod3_tex"])
    jaw = ARKIT_52.index("jawOpen")
    np.testing.assert_array_equal(d.read(target(d.gltf.meshes[1].primitives[0], jaw, "POSITION")),
                                  s.read(target(s.gltf.meshes[1].primitives[0], jaw, "POSITION")))
    assert len(export_glb(asset, png_compress_level=9)) < len(glbs["open_lod3_tex"])


@pytest.mark.parametrize("options, match", [
    ({"bogus": 1}, r"options: unknown \['bogus'\]"),
    ({"png_compress_level": 10}, "png_compress_level"),
    ({"png_threads": 0}, "png_threads"),
    ({"lods": 4}, "lods: the asset has 3"),
    ({"lods": 0}, "lods"),
])
def test_bad_options(assets, options, match):
    with pytest.raises(ValueError, match=match):
        export_glb(assets["open_lod3_flat"], **options)


def test_bad_asset():
    with pytest.raises(ValueError, match="asset: expected an assetgen.asset.HeadAsset"):
        export_glb({"lods": []})
    assert GlbOptions().png_compress_level in range(10)
