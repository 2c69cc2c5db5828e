"""assetgen.asset: build_head_asset, LOD decimation, skin-weight limiting, and the asset types."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch
from asset_helpers import ARKIT_52, make_textures
from flame_fixture import write_flame_folder

import assetgen.heads
from assetgen.asset import (
    MAX_LODS,
    Animation,
    HeadAsset,
    build_head_asset,
    decimate,
    limit_influences,
    material_for_part,
)
from assetgen.geometry import vertex_normals
from assetgen.textures import TextureSet

@pytest.fixture(scope="module")
def open_model():
    return assetgen.heads.load("open")


@pytest.fixture(scope="module")
def open_shape(open_model):
    g = torch.Generator().manual_seed(3)
    shape = (torch.rand(open_model.num_shape, generator=g) - 0.5) * 0.6
    return shape.to(open_model.dtype)


@pytest.fixture(scope="module")
def open_asset(open_model, open_shape) -> HeadAsset:
    return build_head_asset(open_model, open_shape, make_textures(), lods=3, provenance={"seed": 7})


@pytest.fixture(scope="module")
def flame_model(tmp_path_factory):
    fx = write_flame_folder(tmp_path_factory.mktemp("flame"), num_shape=20, num_expression=10, seed=2)
    return assetgen.heads.load(fx.folder, shape_space_dim=20)


# ---------------------------------------------------------------------------------------------- skinning
def test_limit_influences_keeps_top4_normalised():
    rng = np.random.default_rng(0)
    w = rng.random((500, 9)) * (rng.random((500, 9)) < 0.6)
    w[:, 0] += 1e-3  # every row has weight
    w[:7] = 0.0
    w[:7, 3] = 2.0  # single influence
    joints, weights = limit_influences(w)
    assert joints.dtype == np.uint16 and weights.dtype == np.float32 and joints.shape == weights.shape == (500, 4)
    assert np.abs(weights.astype(np.float64).sum(1) - 1.0).max() < 2e-7
    assert (np.diff(weights, axis=1) <= 0).all()  # sorted descending
    assert (joints[weights == 0] == 0).all()
    for i in range(500):
        top = np.sort(w[i])[::-1][:4]
        np.testing.assert_allclose(weights[i], top / top.sum(), rtol=0, atol=1e-6)
        nz = weights[i] > 0
        np.testing.assert_allclose(w[i, joints[i, nz]], top[: nz.sum()])
    assert (joints[:7, 0] == 3).all() and (weights[:7, 0] == 1.0).all()


@pytest.mark.parametrize("bad, match", [(np.full((2, 3), np.nan), "finite"), (-np.ones((2, 3)), "non-negative"),
                                        (np.zeros((2, 3)), "vertex 0"), (np.ones(3), r"\[V, J\]")])
def test_limit_influences_rejects(bad, match):
    with pytest.raises(ValueError, match=match):
        limit_influences(bad)


def test_limit_influences_pads_few_joints():
    joints, weights = limit_influences(np.array([[0.25, 0.75]]))
    assert joints.tolist() == [[1, 0, 0, 0]] and weights.tolist() == [[0.75, 0.25, 0.0, 0.0]]


# ---------------------------------------------------------------------------------------------- decimation
def grid(n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    ij = np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1, 2)
    pos = np.c_[ij / (n - 1), 0.05 * np.sin(ij[:, 0] * 0.7) * np.cos(ij[:, 1] * 0.5)]
    q = (ij[:, 0] < n - 1) & (ij[:, 1] < n - 1)
    a = np.flatnonzero(q)
    faces = np.concatenate([np.c_[a, a + n, a + 1], np.c_[a + 1, a + n, a + n + 1]])
    return pos, faces


def test_decimate_reaches_target_and_keeps_border():
    pos, faces = grid()
    dec = decimate(pos, faces, len(faces) // 2)
    assert abs(len(dec.faces) - len(faces) // 2) <= 2
    assert np.unique(dec.keep).shape == dec.keep.shape and dec.faces.max() < len(dec.keep)
    border = np.flatnonzero((pos[:, 0] == 0) | (pos[:, 0] == 1) | (pos[:, 1] == 0) | (pos[:, 1] == 1))
    assert np.isin(border, dec.keep).all()
    # Winding is preserved: no decimated triangle faces away from its (upward) vertex normals.
    p = pos[dec.keep][dec.faces]
    fn = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    normals = np.zeros_like(pos)
    q = pos[faces]
    for k in range(3):
        np.add.at(normals, faces[:, k], np.cross(q[:, 1] - q[:, 0], q[:, 2] - q[:, 0]))
    assert ((fn * normals[dec.keep][dec.faces].sum(1)).sum(1) > 0).all()
    full = decimate(pos, faces, len(faces))
    np.testing.assert_array_equal(full.faces, faces)
    with pytest.raises(ValueError, match="target_triangles"):
        decimate(pos, faces, 0)


# ---------------------------------------------------------------------------------------------- build: open
def test_open_asset_structure(open_model, open_asset):
    a = open_asset
    assert a.name == "head" and a.num_lods == 3 and a.animations == ()
    assert list(a.morph_target_names) == ARKIT_52 == open_model.expression_names
    names = [p.name for p in a.lods[0].parts]
    assert names[0] == "skin" and set(names) == set(open_model.parts)
    assert {m.name for m in a.materials} == {"skin", "eye", "tongue"}
    assert {p.material for p in a.lods[0].parts} == {"skin", "eye", "tongue"}
    for m in a.materials:
        assert m.base_color_texture is not None and m.base_color_texture.color_space == "srgb"
        assert m.normal_texture is not None and m.orm_texture is not None
    assert a.lods[0].num_triangles == open_model.faces.shape[0]
    prov = a.provenance
    assert prov["seed"] == 7 and prov["head_model"]["id"] == "open"
    assert prov["head_model"]["license"] == open_model.license and "assetgen_version" in prov
    assert prov["textures"]["generator"] == "test"


def test_open_asset_geometry_matches_model(open_model, open_shape, open_asset):
    with torch.no_grad():
        out = open_model(shape=open_shape[None])
    verts = out.vertices[0].double().numpy()
    normals = vertex_normals(out.vertices[0].double(), open_model.faces).numpy()
    faces = open_model.faces.numpy()
    for name, part in zip([p.name for p in open_asset.lods[0].parts], open_asset.lods[0].parts):
        np.testing.assert_allclose(part.positions, verts[part.model_vertex], atol=1e-6)
        np.testing.assert_allclose(part.normals, normals[part.model_vertex], atol=1e-6)
        corner_uvs = open_model.uvs.numpy()[open_model.uv_faces.numpy()[open_model.parts[name].numpy()]]
        np.testing.assert_array_equal(part.uvs[part.faces], corner_uvs)
        # Same triangles as the model's part, in the same order.
        np.testing.assert_array_equal(part.model_vertex[part.faces], faces[open_model.parts[name].numpy()])
        np.testing.assert_allclose(np.linalg.norm(part.tangents[:, :3], axis=1), 1.0, atol=1e-5)
        assert set(np.unique(part.tangents[:, 3])) <= {-1.0, 1.0}


def test_open_asset_morph_deltas_exact(open_model, open_shape, open_asset):
    e = open_model.num_expression
    with torch.no_grad():
        base = open_model(shape=open_shape[None]).vertices.double()
        morphed = open_model(shape=open_shape[None].expand(e, -1),
                             expression=torch.eye(e, dtype=open_model.dtype)).vertices.double()
    deltas = (morphed - base).numpy()
    for part in open_asset.lods[0].parts:
        expected = deltas[:, part.model_vertex]
        expected[np.linalg.norm(expected, axis=-1) < 1e-6] = 0.0
        np.testing.assert_allclose(part.morph_positions, expected, atol=1e-7)
    skin = open_asset.lods[0].part("skin")
    jaw_open = skin.morph_positions[ARKIT_52.index("jawOpen")]
    assert np.linalg.norm(jaw_open, axis=1).max() > 0.005  # the jaw really opens (m)
    assert np.abs(skin.morph_normals[ARKIT_52.index("jawOpen")]).max() > 0.05


def test_open_asset_skeleton(open_model, open_shape, open_asset):
    sk = open_asset.skeleton
    assert sk.names == tuple(open_model.joint_names) and sk.parents == tuple(open_model.joint_parents)
    assert {"eye.L", "eye.R", "jaw"} <= set(sk.names)
    with torch.no_grad():
        joints = open_model(shape=open_shape[None]).joints[0].double().numpy()
    np.testing.assert_allclose(sk.rest_positions, joints, atol=1e-7)
    world = np.zeros_like(joints)
    for j, p in enumerate(sk.parents):
        world[j] = sk.local_translations[j] + (world[p] if p >= 0 else 0.0)
    np.testing.assert_allclose(world, joints, atol=1e-6)
    for j in range(sk.num_joints):
        g = np.eye(4)
        g[:3, 3] = joints[j]
        np.testing.assert_allclose(sk.inverse_bind_matrices[j], np.linalg.inv(g), atol=1e-6)


def test_open_asset_skin_weights(open_model, open_asset):
    unused = set(range(open_model.num_joints))
    for lod in open_asset.lods:
        for part in lod.parts:
            assert np.abs(part.weights.astype(np.float64).sum(1) - 1.0).max() < 2e-7
            assert (part.weights >= 0).all() and (part.joints[part.weights == 0] == 0).all()
            unused -= set(np.unique(part.joints[part.weights > 0]).tolist())
    assert unused  # some joints (tongue root) carry no weight, yet they are in the skeleton
    assert open_asset.skeleton.num_joints == open_model.num_joints


def test_open_asset_lods_carry_attributes(open_asset):
    lod0 = open_asset.lods[0]
    for level, ratio in ((1, 0.5), (2, 0.25)):
        lod = open_asset.lods[level]
        assert abs(lod.num_triangles / lod0.num_triangles - ratio) <= 0.1 * ratio
        for part, part0 in zip(lod.parts, lod0.parts):
            k = part.lod0_vertex
            assert np.unique(k).shape == k.shape
            np.testing.assert_array_equal(part.positions, part0.positions[k])
            np.testing.assert_array_equal(part.morph_positions, part0.morph_positions[:, k])
            np.testing.assert_array_equal(part.morph_normals, part0.morph_normals[:, k])
            np.testing.assert_array_equal(part.uvs, part0.uvs[k])
            np.testing.assert_array_equal(part.normals, part0.normals[k])
            np.testing.assert_array_equal(part.weights, part0.weights[k])
            np.testing.assert_array_equal(part.joints, part0.joints[k])
            np.testing.assert_array_equal(part.model_vertex, part0.model_vertex[k])
            # Seams and open borders are locked: all their vertices stay (no cracks, no cross-island triangles).
            edges = np.sort(part0.faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), 1)
            uniq, count = np.unique(edges, axis=0, return_counts=True)
            assert np.isin(uniq[count == 1], k).all()
            # Triangles face the way their vertex normals do (the decimator's own flip check plus our repair):
            # no more flipped ones than LOD 0 has (a random identity can fold a few triangles already).
            assert count_flipped(part) <= count_flipped(part0) + 2


def count_flipped(part) -> int:
    f = part.faces.astype(np.int64)
    p = part.positions[f].astype(np.float64)
    fn = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    return int(((fn * part.normals[f].sum(1)).sum(1) <= 0).sum())


def test_identity_changes_geometry(open_model, open_asset):
    neutral = build_head_asset(open_model, None, None, lods=1, provenance={})
    assert not np.allclose(neutral.lods[0].parts[0].positions, open_asset.lods[0].parts[0].positions, atol=1e-4)
    assert not np.allclose(neutral.skeleton.rest_positions, open_asset.skeleton.rest_positions, atol=1e-4)
    assert all(m.base_color_texture is None for m in neutral.materials)


def test_build_is_deterministic(open_model, open_shape):
    a = build_head_asset(open_model, open_shape, None, lods=2, provenance={})
    b = build_head_asset(open_model, open_shape, None, lods=2, provenance={})
    for pa, pb in zip(a.lods[1].parts, b.lods[1].parts):
        np.testing.assert_array_equal(pa.positions, pb.positions)
        np.testing.assert_array_equal(pa.faces, pb.faces)


# ---------------------------------------------------------------------------------------------- build: FLAME
def test_flame_asset(flame_model):
    a = build_head_asset(flame_model, None, make_textures(32), lods=3, provenance={"seed": 1}, name="flame_head")
    assert a.morph_target_names == tuple(flame_model.expression_names) and len(a.morph_target_names) == 10
    assert {p.name for p in a.lods[0].parts} == set(flame_model.parts)
    assert {m.name for m in a.materials} == {"skin", "eye"}
    assert a.skeleton.names == tuple(flame_model.joint_names)
    assert a.provenance["head_model"]["id"] == "flame" and "non-commercial" in a.provenance["head_model"]["license"]
    ratios = [lod.num_triangles / a.lods[0].num_triangles for lod in a.lods]
    assert abs(ratios[1] - 0.5) <= 0.05 and abs(ratios[2] - 0.25) <= 0.025


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("lods", [0, MAX_LODS + 1, True, 2.0, "3"])
def test_bad_lods(open_model, lods):
    with pytest.raises(ValueError, match="lods"):
        build_head_asset(open_model, None, None, lods=lods, provenance={})


def test_bad_textures(open_model):
    rng = np.random.default_rng(0)
    rect = TextureSet(albedo=rng.integers(0, 255, (32, 64, 3), dtype=np.uint8),
                      normal=np.zeros((32, 64, 3), np.uint8), orm=np.zeros((32, 64, 3), np.uint8),
                      displacement=np.zeros((32, 64), np.uint16), displacement_offset_m=0.0, displacement_scale_m=1e-3)
    with pytest.raises(ValueError, match=r"textures\.albedo: expected a square map"):
        build_head_asset(open_model, None, rect, provenance={})
    mismatched = make_textures(32)
    object.__setattr__(mismatched, "normal", np.zeros((64, 64, 3), np.uint8))  # bypass the frozen dataclass
    with pytest.raises(ValueError, match=r"textures\.normal: expected uint8 \[32, 32, 3\]"):
        build_head_asset(open_model, None, mismatched, provenance={})
    with pytest.raises(ValueError, match="TextureSet.orm"):  # TextureSet itself refuses mismatched sizes
        dataclasses.replace(make_textures(32), orm=np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(ValueError, match="textures"):
        build_head_asset(open_model, None, {"albedo": None}, provenance={})


def test_nan_vertices(open_model):
    broken = copy.deepcopy(open_model)
    broken.blend_template[5] = float("nan")  # vertex 1, y
    with pytest.raises(ValueError, match="vertices: .*NaN"):
        build_head_asset(broken, None, None, provenance={})


@pytest.mark.parametrize("kwargs, match", [
    ({"shape": torch.zeros(3)}, r"shape: expected a float tensor of shape \[145\]"),
    ({"shape": np.zeros(145)}, "shape: expected a torch.Tensor"),
    ({"shape": torch.full((145,), float("nan"))}, "shape: contains NaN"),
    ({"provenance": {"bad": object()}}, "provenance: expected JSON-serialisable"),
    ({"provenance": {"bad": float("nan")}}, "provenance"),
    ({"provenance": ["seed"]}, "provenance: expected a dict"),
    ({"name": "a b"}, "name"),
    ({"name": ""}, "name"),
    ({"morph_position_epsilon_m": -1.0}, "morph_position_epsilon_m"),
])
def test_bad_arguments(open_model, kwargs, match):
    args = {"shape": None, "provenance": {}, **kwargs}
    with pytest.raises(ValueError, match=match):
        build_head_asset(open_model, args.pop("shape"), None, **args)


def test_bad_model():
    with pytest.raises(ValueError, match="model"):
        build_head_asset(object(), None, None, provenance={})


def test_types_validate(open_asset):
    part = open_asset.lods[0].parts[0]
    with pytest.raises(ValueError, match=r"MeshPart\(skin\)\.weights"):
        dataclasses.replace(part, weights=part.weights[:, :3].copy())
    with pytest.raises(ValueError, match=r"MeshPart\(skin\)\.positions: contains NaN"):
        bad = part.positions.copy()
        bad[0, 0] = np.nan
        dataclasses.replace(part, positions=bad)
    with pytest.raises(ValueError, match="morph targets"):
        dataclasses.replace(open_asset, morph_target_names=("a",))
    with pytest.raises(ValueError, match=r"Animation\(a\)\.times"):
        Animation("a", times=np.array([0.0, 0.0], np.float32), morph_weights=np.zeros((2, 52), np.float32))
    clip = Animation("a", times=np.array([0.0, 1.0], np.float32), morph_weights=np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="3 columns|expected 52 columns"):
        dataclasses.replace(open_asset, animations=(clip,))


def test_material_for_part():
    assert [material_for_part(p) for p in ("skin", "eye_left", "eye.R", "teeth_upper", "tongue", "scalp")] == [
        "skin", "eye", "eye", "teeth", "tongue", "skin"]
