"""exporters.fbx: FBX through Blender for Unity and Unreal, read back (Blender's importer, ufbx) and checked.

Real tool: Debian ``blender`` (``bash scripts/install_tools.sh``); skips locally without it, fails in CI.
One open-head asset (256² textures, 3 LODs, three clips: a 1 s ``jaw_open`` with morph weights and a jaw
rotation, keyed off the frame grid; a morph-only 0.5 s ``blink``; a rotation-only 1.5 s ``nod`` of the four neck
joints) and one FLAME-fixture asset are built once; each FBX is written and re-imported once per module. Every
clip must come back as its own take with its own duration, morph curves on every LOD and joint curves.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import json
import shutil
import subprocess
import sys
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
NOD_ANGLE = 0.2  # neck pitch at the nod's peaks, radians (a quarter on each neck joint)
NECK = ("neck01", "neck02", "neck03", "head")
CLIPS = {"jaw_open": CLIP_S, "blink": 0.5, "nod": 1.5}  # name → duration, in the asset's (and the FBX's) order


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


def blink_clip() -> Animation:
    """Morph weights only: both eyes close and open over 0.5 s, keyed at every frame."""
    times = np.arange(round(CLIPS["blink"] * FPS) + 1, dtype=np.float32) / FPS
    weights = np.zeros((times.size, len(ARKIT_52)), np.float32)
    for name in ("eyeBlinkLeft", "eyeBlinkRight"):
        weights[:, ARKIT_52.index(name)] = np.sin(np.pi * times / times[-1]) ** 2
    return Animation("blink", times=times, morph_weights=weights)


def nod_clip() -> Animation:
    """Joint rotations only: two nods (pitch about x) over 1.5 s, shared by the four neck joints."""
    times = np.arange(round(CLIPS["nod"] * FPS) + 1, dtype=np.float32) / FPS
    angle = NOD_ANGLE / len(NECK) * np.sin(2 * np.pi * times / (CLIPS["nod"] / 2))
    q = np.stack([np.sin(angle / 2), 0 * angle, 0 * angle, np.cos(angle / 2)], 1).astype(np.float32)
    return Animation("nod", times=times, joint_rotations={j: q for j in NECK})


def build_open_asset(texture_size: int = 256, lods: int = 3) -> HeadAsset:
    """The open head with textures, ``lods`` levels and the ``jaw_open``, ``blink`` and ``nod`` clips (shared
    by the real-tool tests)."""
    model = assetgen.heads.load("open")
    asset = build_head_asset(model, None, make_textures(texture_size, seed=4), lods=lods,
                             provenance={"seed": 7, "spec_hash": "fbx-test"})
    clips = (jaw_clip(len(ARKIT_52), ARKIT_52.index("jawOpen")), blink_clip(), nod_clip())
    return dataclasses.replace(asset, animations=clips)


def expected_weight(anim: Animation, target: str, t: np.ndarray) -> np.ndarray:
    """The clip's weight of morph target ``target`` at times ``t`` (linear between keys; 0 when not animated)."""
    if anim.morph_weights is None:
        return np.zeros_like(t)
    return np.interp(t, anim.times, anim.morph_weights[:, ARKIT_52.index(target)])


def expected_w(anim: Animation, joint: str, t: np.ndarray) -> np.ndarray:
    """``w`` of the joint's rotation at times ``t`` (1 when not animated). ``w`` = cos(angle/2) does not depend
    on the bone axes a file or an importer chooses, so it compares across glTF, Blender and FBX."""
    q = anim.joint_rotations.get(joint)
    if q is None:
        return np.ones_like(t)
    lerp = np.stack([np.interp(t, anim.times, q[:, i]) for i in range(4)], 1)
    return lerp[:, 3] / np.linalg.norm(lerp, axis=1)


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


#: F-curves whose keys Blender's inspection reports: two morph targets and every joint's rotation w.
CURVES = (*(f'key_blocks["{n}"].value[0]' for n in ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight")),
          *(f'pose.bones["{j}"].rotation_quaternion[0]' for j in ("jaw", *NECK, "eye.L", "eye.R")))


@pytest.fixture(scope="module")
def exported(open_asset, tmp_path_factory) -> dict[str, tuple[FbxResult, dict]]:
    """preset → (FbxResult, Blender's inspection of the re-imported FBX)."""
    needs_blender()
    out = {}
    folder = tmp_path_factory.mktemp("fbx")
    glb = export_glb(open_asset)
    for preset in ("unity", "unreal"):
        result = export_fbx(glb, folder / preset / "head.fbx", preset=preset, fps=FPS)
        out[preset] = (result, blender_inspect(result.path, fps=FPS, curves=CURVES))
    return out


# ufbx (PyPI) reads the FBX as Unity/Unreal-style SDKs do; it crashes on a second file in one process, so each
# file is read in its own subprocess, which prints JSON: per take its name, time span, every listed blend
# channel's weight (one list per mesh, LOD order) and every listed node's local rotation at every frame; the
# file's static (no take) node rotations and channel weights; every mesh's face-corner positions and normals.
UFBX_READ = r"""
import gc, json, os, sys
import ufbx
gc.disable()  # the bindings' wrappers can crash the cyclic collector (seen in ufbx 0.0.5); a short process
path, want = sys.argv[1], json.loads(sys.argv[2])
scene = ufbx.load_file(path)
stacks = [(s.name, s.time_begin, s.time_end, s.anim) for s in scene.anim_stacks]  # first: the bindings' order
channels = [(c.name, c) for c in scene.blend_channels if c.name in want["channels"]]
nodes = [(n.name, n) for n in scene.nodes if n.name in want["nodes"]]
quat = lambda r: [r.x, r.y, r.z, r.w]
out = {"rest": {name: quat(n.local_transform.rotation) for name, n in nodes}, "stacks": [],
       "static_weights": {name: c.weight for name, c in channels}, "meshes": {}}
for m in scene.meshes:  # per face corner: position and normal, as stored (the node carries the axis change)
    pos, nrm = m.vertex_position, m.vertex_normal
    out["meshes"][m.name] = {"positions": [[v.x, v.y, v.z] for v in (pos.values[i] for i in pos.indices)],
                             "normals": [[v.x, v.y, v.z] for v in (nrm.values[i] for i in nrm.indices)]}
for name, begin, end, anim in stacks:
    times = [begin + k / want["fps"] for k in range(int(round((end - begin) * want["fps"])) + 1)]
    take = {"name": name, "begin": begin, "end": end, "times": times, "weights": {}, "rotations": {}}
    for cname, c in channels:
        take["weights"].setdefault(cname, []).append([ufbx.evaluate_blend_weight(anim, c, t) for t in times])
    for nname, n in nodes:
        take["rotations"][nname] = [quat(ufbx.evaluate_transform(anim, n, t).rotation) for t in times]
    out["stacks"].append(take)
sys.stdout.write(json.dumps(out))
sys.stdout.flush()
os._exit(0)  # skip interpreter teardown: freeing the bindings' wrappers can crash after the work is done
"""


@functools.lru_cache(maxsize=4)
def ufbx_read(path: Path, joints: tuple[str, ...]) -> dict:
    """What ufbx reads from ``path``: the takes with every ARKit channel and every joint in ``joints``, meshes."""
    return ufbx_takes(path, ARKIT_52, joints)


def ufbx_takes(path: Path, channels, nodes) -> dict:
    if importlib.util.find_spec("ufbx") is None:  # a test requirement (pyproject [test], requirements/ci.txt)
        require_tool("ufbx (PyPI) not installed: bash scripts/setup.sh installs it")
    want = json.dumps({"channels": list(channels), "nodes": list(nodes), "fps": FPS})
    proc = subprocess.run([sys.executable, "-c", UFBX_READ, str(path), want], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of ``(x, y, z, w)`` quaternions (broadcasting)."""
    ax, ay, az, aw = np.moveaxis(a, -1, 0)
    bx, by, bz, bw = np.moveaxis(b, -1, 0)
    return np.stack([aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz], -1)


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
    assert result.clip == "jaw_open" and result.skipped_clips == ()  # every clip is a take
    assert [(c.name, c.frames, c.duration_s, c.morph_weights, c.joints) for c in result.clips] == [
        ("jaw_open", 30, 1.0, True, ("jaw",)), ("blink", 15, 0.5, True, ()),
        ("nod", 45, 1.5, False, tuple(sorted(NECK)))]
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
def test_fbx_takes_in_file_and_blender(exported, open_asset, preset):
    """One take per clip, in the file (raw AnimationStacks) and in Blender's FBX importer (an action per take
    and animated ID, '<id>|<take>'), with each clip's duration and its own keys on every LOD and joint."""
    _, rep = exported[preset]
    assert rep["fps"] == FPS
    assert [(s["name"], s["LocalStart"], round(s["LocalStop"], 6)) for s in rep["raw"]["anim_stacks"]] == [
        (name, 0.0, duration) for name, duration in CLIPS.items()]
    actions = {a["name"]: a for a in rep["actions"]}
    for anim in open_asset.animations:
        duration = CLIPS[anim.name]
        for level in range(3):
            act = actions[f'{objects(rep)[f"head_LOD{level}"]["shape_key_id"]}|{anim.name}']
            start, end = act["frame_range"]
            assert (end - start) / FPS == pytest.approx(duration, abs=1e-6)
            assert act["fcurves"] == 52  # trap 1: the morph channels of every take are there
            for target in ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight"):
                keys = np.array(act["curves"][f'key_blocks["{target}"].value[0]'])
                assert len(keys) == round(duration * FPS) + 1  # baked at every frame
                want = expected_weight(anim, target, (keys[:, 0] - start) / FPS)
                np.testing.assert_allclose(keys[:, 1], want, atol=1e-3, err_msg=f"{anim.name} {target} LOD{level}")
        act = actions[f"head_skeleton|{anim.name}"]
        start = act["frame_range"][0]
        for joint in ("jaw", *NECK, "eye.L", "eye.R"):  # nod moves the neck only, jaw_open the jaw only
            keys = np.array(act["curves"][f'pose.bones["{joint}"].rotation_quaternion[0]'])
            want = expected_w(anim, joint, (keys[:, 0] - start) / FPS)
            np.testing.assert_allclose(np.abs(keys[:, 1]), want, atol=1e-4, err_msg=f"{anim.name} {joint}")
    # the first take is the one Blender makes active; the peak values are the clip's
    jaw = actions[objects(rep, "ARMATURE")["head_skeleton"]["action"]]
    assert jaw["name"] == "head_skeleton|jaw_open"
    lo, hi = jaw["value_range"]['pose.bones["jaw"].rotation_quaternion[0]']
    assert lo == pytest.approx(np.cos(JAW_ANGLE / 2), abs=1e-4) and hi == pytest.approx(1.0, abs=1e-4)
    nod = actions["head_skeleton|nod"]["value_range"]['pose.bones["neck01"].rotation_quaternion[0]']
    assert nod[0] == pytest.approx(np.cos(NOD_ANGLE / len(NECK) / 2), abs=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["unity", "unreal"])
def test_fbx_takes_read_by_ufbx(exported, open_asset, preset):
    """The same file through ufbx: every take's span, every blend channel on every LOD and every joint's
    rotation (relative to its rest rotation) at every frame, against the clip."""
    result, _ = exported[preset]
    joints = open_asset.skeleton.names
    dump = ufbx_read(result.path, tuple(joints))
    assert [(s["name"], s["begin"], round(s["end"], 6)) for s in dump["stacks"]] == [
        (name, 0.0, duration) for name, duration in CLIPS.items()]
    # the file's static pose is the rest pose with default (0) weights, not a frame of the first clip; each
    # take's first frame (every clip starts at rest) then has each joint at that static rotation
    assert set(dump["static_weights"]) == set(ARKIT_52) and set(dump["static_weights"].values()) == {0.0}
    for anim, take in zip(open_asset.animations, dump["stacks"]):
        t = np.array(take["times"])
        assert t[-1] == pytest.approx(CLIPS[anim.name], abs=1e-9)
        for target in ARKIT_52:
            lods = take["weights"][target]
            assert len(lods) == 3, target  # the channel is on every LOD mesh
            for curve in lods:
                np.testing.assert_allclose(curve, expected_weight(anim, target, t), atol=1e-3,
                                           err_msg=f"{preset} {anim.name} {target}")
        for joint in joints:
            rest_inv = np.array(dump["rest"][joint]) * [-1, -1, -1, 1]
            rel = quat_mul(rest_inv, np.array(take["rotations"][joint]))
            np.testing.assert_allclose(np.abs(rel[:, 3]), expected_w(anim, joint, t), atol=1e-4,
                                       err_msg=f"{preset} {anim.name} {joint}")
            moving = rel[np.abs(rel[:, 3]) < 1 - 1e-5, :3]
            if len(moving):  # one fixed axis per joint, as in the clip (nod: pitch; jaw_open: jaw pitch)
                axes = moving / np.linalg.norm(moving, axis=1, keepdims=True)
                assert np.abs(axes @ axes[0]).min() > 0.999, (anim.name, joint)


#: glTF (Y up, +Z front, m) → the FBX geometry's coordinates per preset: Blender's (Z up, −Y front); the
#: mesh nodes carry the axis change, Unreal's data is in cm.
BLENDER_AXES = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]])
GEOMETRY_AXES = {"unity": BLENDER_AXES, "unreal": BLENDER_AXES * 100}


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["unity", "unreal"])
def test_fbx_normals_are_the_assets(exported, open_asset, preset):
    """Normals come from the mesh data, not from the bake (which runs with auto smooth off for speed): every
    face corner of every LOD has the asset's vertex normal at that position."""
    from scipy.spatial import cKDTree

    result, _ = exported[preset]
    meshes = ufbx_read(result.path, tuple(open_asset.skeleton.names))["meshes"]
    axes = GEOMETRY_AXES[preset]
    back = axes.T / np.linalg.norm(axes[0]) ** 2  # FBX → glTF
    for level, lod in enumerate(open_asset.lods):
        m = meshes[f"head_LOD{level}"]
        positions = np.concatenate([p.positions for p in lod.parts])
        normals = np.concatenate([p.normals for p in lod.parts])
        dist, nearest = cKDTree(positions).query(np.array(m["positions"]) @ back.T)
        assert dist.max() < 1e-5, (preset, level, dist.max())
        fbx_normals = np.array(m["normals"]) @ (axes.T / np.linalg.norm(axes[0])).T
        cos = np.einsum("ij,ij->i", fbx_normals, normals[nearest])
        assert cos.min() > 0.999, (preset, level, cos.min(), int((cos < 0.999).sum()))


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
    assert [(c.name, c.frames, c.morph_weights, c.joints) for c in result.clips] == [("jaw_open", 30, True, ("jaw",))]
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


def glb_with_clips(*names: str) -> bytes:
    """A glb header and JSON chunk naming ``names`` as animations (enough for the checks before Blender)."""
    doc = json.dumps({"asset": {"version": "2.0"}, "animations": [{"name": n} for n in names]}).encode()
    doc += b" " * (-len(doc) % 4)
    return (b"glTF" + (2).to_bytes(4, "little") + (28 + len(doc)).to_bytes(4, "little")
            + len(doc).to_bytes(4, "little") + b"JSON" + doc + (0).to_bytes(4, "little") + b"BIN\x00")


def test_bad_clip_names(open_asset, tmp_path):
    """A take is named after its Blender NLA strip: a name over 63 bytes (or a repeated one) is refused up front."""
    long = dataclasses.replace(open_asset, animations=(dataclasses.replace(blink_clip(), name="b" * 64),))
    with pytest.raises(ValueError, match="animations: clip name 'b{64}' is longer than Blender's 63-byte"):
        export_fbx(long, tmp_path / "x.fbx", blender="/nonexistent")
    with pytest.raises(ValueError, match="animations: clip names must be unique"):
        export_fbx(glb_with_clips("blink", "blink"), tmp_path / "x.fbx", blender="/nonexistent")
    with pytest.raises(RuntimeError, match="install_tools"):  # fine names: on to looking for Blender
        export_fbx(glb_with_clips("blink", "é" * 31), tmp_path / "x.fbx", blender="/nonexistent")
    assert list(tmp_path.iterdir()) == []


def test_inspect_bad_curves(tmp_path):
    with pytest.raises(ValueError, match="curves"):
        blender_inspect(tmp_path / "x.fbx", curves='key_blocks["jawOpen"].value[0]', blender="/nonexistent")


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
