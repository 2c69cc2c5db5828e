"""Blender re-imports the glb (its own glTF importer): shape keys, bones, skin, materials with both textures,
and every animation clip with its duration and keys. Real tool: Debian ``blender`` (scripts/install_tools.sh)."""

from __future__ import annotations

import numpy as np
import pytest
from asset_helpers import ARKIT_52
from test_fbx import CLIPS, CURVES, FPS, JAW_ANGLE, NECK, build_open_asset, expected_w, expected_weight, \
    needs_blender, objects

from exporters.fbx import blender_inspect
from exporters.gltf import export_glb


@pytest.fixture(scope="module")
def asset():
    return build_open_asset()


@pytest.fixture(scope="module")
def report(asset, tmp_path_factory) -> dict:
    needs_blender()
    path = tmp_path_factory.mktemp("glb") / "head.glb"
    path.write_bytes(export_glb(asset))
    return blender_inspect(path, fps=FPS, curves=CURVES)


def lod_meshes(report: dict) -> dict[int, dict]:
    """LOD level → mesh object (Blender 3.4 names a skinned node's mesh object '<node>.001')."""
    out = {}
    for name, o in objects(report, "MESH").items():
        level = int(name.split("_LOD", 1)[1].split(".", 1)[0])
        out[level] = o
    return out


@pytest.mark.slow
def test_glb_meshes_shape_keys_and_skin(report, asset):
    meshes = lod_meshes(report)
    assert sorted(meshes) == [0, 1, 2]
    for level, lod in enumerate(asset.lods):
        m = meshes[level]
        assert m["triangles"] == lod.num_triangles
        assert m["shape_keys"] == list(ARKIT_52)
        assert m["shape_key_max_delta"]["jawOpen"] > 1e-3
        assert set(m["vertex_groups"]) == set(asset.skeleton.names)  # one group per joint
        assert m["weighted_vertices"] == m["vertices"]
        assert m["armature_modifiers"] == ["head_skeleton"]
        assert sorted(m["materials"]) == ["eye", "skin", "tongue"]
        # meters, +Z up in Blender: a head and neck 15-40 cm tall
        assert 0.15 < m["dimensions"][2] < 0.4
    (arm,) = objects(report, "ARMATURE").values()
    assert sorted(arm["bones"]) == sorted(asset.skeleton.names) and len(arm["bones"]) == 13


@pytest.mark.slow
def test_glb_materials_have_both_textures(report):
    mats = {m["name"]: m for m in report["materials"]}
    images = {i["image"]: i for i in mats["skin"]["images"]}
    assert {"head_albedo", "head_normal", "head_orm"} <= set(images)
    albedo, normal = images["head_albedo"], images["head_normal"]
    assert any("Base Color" in link for link in albedo["links"])
    assert any(link.startswith("NORMAL_MAP") for link in normal["links"])
    assert albedo["size"] == normal["size"] == [256, 256]
    assert abs(albedo["mean"] - normal["mean"]) > 0.05


@pytest.mark.slow
def test_glb_animation(report, asset):
    """Each clip: a shape-key action per LOD when it has morph weights, an armature action when it rotates
    joints, with the clip's own keys (not resampled) and values."""
    assert report["fps"] == FPS
    actions = report["actions"]
    for anim in asset.animations:
        mine = [a for a in actions if a["name"].startswith(anim.name + "_")]
        shape = [a for a in mine if a["id_root"] == "KEY"]
        assert len(shape) == (3 if anim.morph_weights is not None else 0), anim.name
        for act in shape:
            start, end = act["frame_range"]
            assert start == 0 and (end - start) / FPS == pytest.approx(CLIPS[anim.name], abs=1e-6)
            assert act["fcurves"] == 52
            for target in ("jawOpen", "eyeBlinkLeft"):
                keys = np.array(act["curves"][f'key_blocks["{target}"].value[0]'])
                assert len(keys) == len(anim.times)  # the clip's own keys, not resampled
                np.testing.assert_allclose(keys[:, 0], anim.times * FPS, atol=1e-4)
                np.testing.assert_allclose(keys[:, 1], expected_weight(anim, target, anim.times), atol=1e-6)
        arm = [a for a in mine if a["id_root"] == "OBJECT"]
        assert len(arm) == (1 if anim.joint_rotations else 0), anim.name
        for act in arm:
            assert sorted({k.split('"')[1] for k in act["keys"]}) == sorted(anim.joint_rotations)
            for joint in anim.joint_rotations:
                keys = np.array(act["curves"][f'pose.bones["{joint}"].rotation_quaternion[0]'])
                assert len(keys) == len(anim.times)
                np.testing.assert_allclose(keys[:, 1], expected_w(anim, joint, anim.times), atol=1e-5)
    (arm,) = objects(report, "ARMATURE").values()
    jaw = next(a for a in actions if a["name"].startswith("jaw_open_") and a["id_root"] == "OBJECT")
    lo, hi = jaw["value_range"]['pose.bones["jaw"].rotation_quaternion[0]']
    assert lo == pytest.approx(np.cos(JAW_ANGLE / 2), abs=1e-5) and hi == pytest.approx(1.0, abs=1e-5)
    assert set(arm["nla_tracks"]) == {"jaw_open", "nod"} and set(NECK) < set(arm["bones"])
