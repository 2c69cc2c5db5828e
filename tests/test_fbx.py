"""exporters.fbx: FBX through Blender for Unity and Unreal, re-imported in Blender and checked.

Real tool: Debian ``blender`` (``bash scripts/install_tools.sh``); skips locally without it, fails in CI.
One open-head asset (256² textures, 3 LODs, a 1 s ``jaw_open`` clip with morph weights and a jaw rotation)
and one FLAME-fixture asset are built once; each FBX is written and re-imported once per module.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from asset_helpers import ARKIT_52, make_textures
from flame_fixture import write_flame_folder
from real_tools import require_tool

import assetgen.heads
from assetgen.asset import Animation, HeadAsset, build_head_asset
from exporters.fbx import FbxResult, blender_inspect, export_fbx, find_blender
from exporters.gltf import export_glb

FPS = 30
CLIP_S = 1.0
JAW_ANGLE = 0.3  # radians at the clip's peak


def blender_missing() -> str | None:
    try:
        find_blender()
    except RuntimeError as e:
        return str(e)
    return None


def needs_blender() -> None:
    require_tool(blender_missing())


# ---------------------------------------------------------------------------------------------- assets
def jaw_clip(num_targets: int, jaw_index: int, k: int = 5) -> Animation:
    weights = np.zeros((k, num_targets), np.float32)
    weights[:, jaw_index] = [0.0, 0.5, 1.0, 0.5, 0.0]
    angle = JAW_ANGLE * np.array([0.0, 0.5, 1.0, 0.5, 0.0])
    jaw = np.stack([np.sin(angle / 2), np.zeros(k), np.zeros(k), np.cos(angle / 2)], 1).astype(np.float32)
    return Animation("jaw_open", times=np.linspace(0, CLIP_S, k).astype(np.float32), morph_weights=weights,
                     joint_rotations={"jaw": jaw})


def build_open_asset(texture_size: int = 256, lods: int = 3) -> HeadAsset:
    """The open head with textures, ``lods`` levels and the ``jaw_open`` clip (shared by the real-tool tests)."""
    model = assetgen.heads.load("open")
    asset = build_head_asset(model, None, make_textures(texture_size, seed=4), lods=lods,
                             provenance={"seed": 7, "spec_hash": "fbx-test"})
    return dataclasses.replace(asset, animations=(jaw_clip(len(ARKIT_52), ARKIT_52.index("jawOpen")),))


def weighted_joints(asset: HeadAsset, level: int = 0) -> set[str]:
    names = asset.skeleton.names
    used = set()
    for part in asset.lods[level].parts:
        used |= {names[j] for j in np.unique(part.joints[part.weights > 0])}
    return used


@pytest.fixture(scope="module")
def open_asset() -> HeadAsset:
    return build_open_asset()


@pytest.fixture(scope="module")
def flame_asset(tmp_path_factory) -> HeadAsset:
    fx = write_flame_folder(tmp_path_factory.mktemp("flame"), num_shape=20, num_expression=10, seed=3)
    flame = assetgen.heads.load(fx.folder, shape_space_dim=20)
    asset = build_head_asset(flame, None, make_textures(64, seed=5), lods=2, provenance={"seed": 1}, name="flame")
    return dataclasses.replace(asset, animations=(jaw_clip(len(asset.morph_target_names), 0),))


@pytest.fixture(scope="module")
def exported(open_asset, tmp_path_factory) -> dict[str, tuple[FbxResult, dict]]:
    """preset → (FbxResult, Blender's inspection of the re-imported FBX)."""
    needs_blender()
    out = {}
    folder = tmp_path_factory.mktemp("fbx")
    glb = export_glb(open_asset)
    for preset in ("unity", "unreal"):
        result = export_fbx(glb, folder / preset / "head.fbx", preset=preset, fps=FPS)
        out[preset] = (result, blender_inspect(result.path, fps=FPS))
    return out


def objects(report: dict, kind: str | None = None) -> dict[str, dict]:
    return {o["name"]: o for o in report["objects"] if kind is None or o["type"] == kind}


# ---------------------------------------------------------------------------------------------- tests
@pytest.mark.slow
@pytest.mark.parametrize("preset", ["unity", "unreal"])
def test_fbx_result_and_file(exported, preset):
    result, _ = exported[preset]
    assert result.path.is_file() and result.path.suffix == ".fbx" and result.size_bytes == result.path.stat().st_size
    assert sorted(p.name for p in result.path.parent.iterdir()) == ["head.fbx"]  # no partial file left behind
    assert result.blender_version.startswith(("3.", "4.", "5."))
    assert result.lods == ("head_LOD0", "head_LOD1", "head_LOD2") and result.lod_group == "head_LODGroup"
    assert set(result.images) == {"head_albedo.png", "head_normal.png", "head_orm.png"}
    assert result.clip == "jaw_open" and result.skipped_clips == ()
    assert {"blender_start", "import", "fix", "export", "total"} <= set(result.timings_s)
    assert all(v >= 0 for v in result.timings_s.values())
    print(preset, {k: round(v, 3) for k, v in result.timings_s.items()}, f"{result.size_bytes / 1e6:.2f} MB")


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["unity", "unreal"])
def test_fbx_reimport_structure(exported, open_asset, preset):
    _, rep = exported[preset]
    meshes = objects(rep, "MESH")
    assert sorted(meshes) == ["head_LOD0", "head_LOD1", "head_LOD2"]  # no Icosphere, no '.001' names
    assert not any(name.startswith("Icosphere") for name in objects(rep))
    for level, lod in enumerate(open_asset.lods):
        m = meshes[f"head_LOD{level}"]
        assert m["triangles"] == lod.num_triangles
        assert m["shape_keys"] == list(ARKIT_52)  # the 52 names, in order
        assert m["shape_key_max_delta"]["jawOpen"] > 1e-3  # the deltas came through, not just the names
        assert m["materials"] == ["skin", "eye", "tongue"]
        # skin: one vertex group per weighted joint, every vertex weighted, an armature modifier
        assert set(m["vertex_groups"]) == weighted_joints(open_asset, level)
        assert m["weighted_vertices"] == m["vertices"]
        assert m["armature_modifiers"] == ["head_skeleton"]
    (arm,) = objects(rep, "ARMATURE").values()
    assert sorted(arm["bones"]) == sorted(open_asset.skeleton.names)  # 13 bones, no leaf '_end' bones
    assert len(arm["bones"]) == 13
    assert arm["bone_parents"]["jaw"] == "head"
    # LOD group empty; for Unreal it is an FBX LodGroup node
    group = objects(rep, "EMPTY")["head_LODGroup"]
    raw = rep["raw"]
    assert {"head_LOD0", "head_LOD1", "head_LOD2", "head_LODGroup", "head_skeleton"} <= set(raw["models"])
    assert raw["node_attributes"]["head_LODGroup"] == ("LodGroup" if preset == "unreal" else "Null")
    assert group["custom_props"].get("fbx_type") == ("LodGroup" if preset == "unreal" else None)


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["unity", "unreal"])
def test_fbx_materials_keep_both_textures(exported, preset):
    _, rep = exported[preset]
    mats = {m["name"]: m for m in rep["materials"]}
    assert {"skin", "eye", "tongue"} <= set(mats)
    images = {i["file"]: i for i in mats["skin"]["images"]}
    assert set(images) == {"head_albedo.png", "head_normal.png"}
    albedo, normal = images["head_albedo.png"], images["head_normal.png"]
    assert albedo["packed"] and normal["packed"]  # embedded in the FBX (the export's temp folder is gone)
    assert any("Base Color" in link for link in albedo["links"])
    assert any(link.startswith("NORMAL_MAP") for link in normal["links"])
    # trap 2: different pictures, not the albedo twice (the test normal map is flat (128, 128, 255))
    assert albedo["size"] == normal["size"] == [256, 256]
    assert abs(albedo["mean"] - normal["mean"]) > 0.05 and albedo["pixel_hash"] != normal["pixel_hash"]


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["unity", "unreal"])
def test_fbx_animation(exported, preset):
    _, rep = exported[preset]
    assert rep["fps"] == FPS
    actions = {a["name"]: a for a in rep["actions"]}
    for level in range(3):
        key_action = objects(rep)[f"head_LOD{level}"]["shape_key_action"]
        act = actions[key_action]
        assert key_action.endswith("jaw_open")  # the take is named after the clip
        start, end = act["frame_range"]
        assert (end - start) / FPS == pytest.approx(CLIP_S, abs=1e-6)
        assert act["fcurves"] == 52  # trap 1: the morph-only channels are there
        assert act["keys"]['key_blocks["jawOpen"].value[0]'] == round(CLIP_S * FPS) + 1  # baked every frame
        lo, hi = act["value_range"]['key_blocks["jawOpen"].value[0]']
        assert lo == pytest.approx(0.0, abs=1e-4) and hi == pytest.approx(1.0, abs=1e-4)
    arm_action = actions[objects(rep, "ARMATURE")["head_skeleton"]["action"]]
    lo, hi = arm_action["value_range"]['pose.bones["jaw"].rotation_quaternion[0]']
    assert lo == pytest.approx(np.cos(JAW_ANGLE / 2), abs=1e-4) and hi == pytest.approx(1.0, abs=1e-4)


@pytest.mark.slow
def test_fbx_units_and_axes(exported):
    unity, unreal = exported["unity"][1], exported["unreal"][1]
    gs_unity, gs_unreal = unity["raw"]["global_settings"], unreal["raw"]["global_settings"]
    # Unity: meters (UnitScaleFactor 100 cm), Y up; Unreal: centimeters, Z up, front -Y (Unreal's import system)
    assert gs_unity["UnitScaleFactor"] == pytest.approx(100.0) and (gs_unity["UpAxis"], gs_unity["UpAxisSign"]) == (1, 1)
    assert gs_unreal["UnitScaleFactor"] == pytest.approx(1.0, rel=1e-6)
    assert (gs_unreal["UpAxis"], gs_unreal["UpAxisSign"]) == (2, 1)
    assert (gs_unreal["FrontAxis"], gs_unreal["FrontAxisSign"]) == (1, -1)
    for name in ("head_LOD0", "head_LOD1", "head_LOD2"):
        lo_m, hi_m = (np.array(b) for b in unity["raw"]["geometry_bounds"][name])
        lo_cm, hi_cm = (np.array(b) for b in unreal["raw"]["geometry_bounds"][name])
        np.testing.assert_allclose(hi_cm - lo_cm, 100.0 * (hi_m - lo_m), rtol=1e-4)  # data ×100 in the file
        assert 15.0 < (hi_cm - lo_cm)[2] < 40.0  # head+neck height in cm along Z (up)
        # and both read back into Blender at the same size in meters, same place (the units are declared right)
        a, b = objects(unity)[name], objects(unreal)[name]
        np.testing.assert_allclose(a["dimensions"], b["dimensions"], atol=1e-4)
        np.testing.assert_allclose(a["world_bounds"], b["world_bounds"], atol=1e-4)
        assert 0.15 < a["dimensions"][2] < 0.4


@pytest.mark.slow
def test_fbx_flame_asset(flame_asset, tmp_path):
    needs_blender()
    result = export_fbx(flame_asset, tmp_path / "flame.fbx", preset="unreal")
    assert "glb" in result.timings_s and result.lods == ("flame_LOD0", "flame_LOD1")
    rep = blender_inspect(result.path)
    meshes = objects(rep, "MESH")
    assert sorted(meshes) == ["flame_LOD0", "flame_LOD1"]
    for level, lod in enumerate(flame_asset.lods):
        m = meshes[f"flame_LOD{level}"]
        assert m["shape_keys"] == list(flame_asset.morph_target_names)
        assert m["triangles"] == lod.num_triangles
        assert set(m["vertex_groups"]) == weighted_joints(flame_asset, level)
    (arm,) = objects(rep, "ARMATURE").values()
    assert sorted(arm["bones"]) == sorted(flame_asset.skeleton.names)


# ---------------------------------------------------------------------------------------------- bad input
def test_unknown_preset(open_asset, tmp_path):
    with pytest.raises(ValueError, match="preset"):
        export_fbx(open_asset, tmp_path / "x.fbx", preset="godot")


@pytest.mark.parametrize("kwargs, match", [
    ({"timeout_s": 0}, "timeout_s"), ({"fps": 0}, "fps"), ({"fps": 2.5}, "fps"),
])
def test_bad_options(kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        export_fbx(b"glTF....", tmp_path / "x.fbx", **kwargs)


def test_bad_source_and_path(tmp_path):
    with pytest.raises(ValueError, match="source"):
        export_fbx(b"not a glb", tmp_path / "x.fbx")
    with pytest.raises(ValueError, match="source"):
        export_fbx(42, tmp_path / "x.fbx")
    with pytest.raises(ValueError, match="path"):
        export_fbx(b"glTF....", tmp_path / "x.obj")


def test_missing_blender_names_install_step(tmp_path, monkeypatch):
    with pytest.raises(RuntimeError, match=r"scripts/install_tools\.sh.*ASSETGEN_BLENDER"):
        export_fbx(b"glTF....", tmp_path / "x.fbx", blender="/nonexistent")
    monkeypatch.setenv("ASSETGEN_BLENDER", "/nonexistent/blender")
    with pytest.raises(RuntimeError, match="install_tools"):
        find_blender()
    monkeypatch.delenv("ASSETGEN_BLENDER")
    monkeypatch.setenv("PATH", str(tmp_path))  # no blender anywhere
    with pytest.raises(RuntimeError, match="FBX export needs Blender"):
        find_blender()
    assert not (tmp_path / "x.fbx").exists()


@pytest.mark.slow
def test_blender_failure_and_timeout_raise_with_log(tmp_path):
    needs_blender()
    bad = b"glTF" + b"\x02\x00\x00\x00" + b"\x00" * 64  # a glb header with garbage after it
    with pytest.raises(RuntimeError, match=r"exit code 3.*log tail") as err:
        export_fbx(bad, tmp_path / "bad.fbx")
    assert "Traceback" in str(err.value) or "Error" in str(err.value)
    with pytest.raises(RuntimeError, match="timed out"):
        export_fbx(bad, tmp_path / "slow.fbx", timeout_s=0.05)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written, no partial file


def test_glb_path_never_needs_blender(open_asset, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("ASSETGEN_BLENDER", raising=False)
    assert export_glb(open_asset)[:4] == b"glTF"
    assert shutil.which("blender") is None
