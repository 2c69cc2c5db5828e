"""Blender worker for :mod:`exporters.fbx`: runs *inside* Blender, never imported by the project.

    blender -b --factory-startup --python-exit-code 3 --python exporters/blender_worker.py -- '<json>'

The JSON argument is an object with ``mode``:

* ``"export"``: ``{"mode": "export", "input": "head.glb", "output": "head.fbx", "preset": "unity"|"unreal",
  "fps": 30, "work_dir": "...", "report": "report.json"}`` — imports the glb, fixes what the FBX exporter
  would lose (see :mod:`exporters.fbx`), writes the FBX to ``output`` (one take per glTF animation, see
  :func:`layout_clips`) and a JSON report (timings, Blender version, what was exported, ``clips``) to ``report``.
* ``"inspect"``: ``{"mode": "inspect", "input": "x.fbx"|"x.glb", "fps": 30, "curves": [...], "report":
  "report.json"}`` — imports the file into an empty scene and writes what came in (objects, meshes, shape keys,
  bones, vertex groups, materials with their image textures, actions with the keys of the F-curves named in
  ``curves``, scene units; for FBX also the file's raw ``GlobalSettings``, per-geometry raw vertex bounds and
  animation stacks) to ``report``; the tests assert on it.

Works with Debian's Blender 3.4 (glTF importer 3.4, FBX add-on 4.37) and is written to stay valid on newer ones.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback

T0 = time.perf_counter()

import numpy  # noqa: E402  (Debian blender 3.4's glTF importer uses numpy.bool, removed in numpy 1.24)

if not hasattr(numpy, "bool") or numpy.bool is not bool:
    numpy.bool = bool

import bpy  # noqa: E402

PRESETS = {
    # Unity: meters (FBX UnitScaleFactor 100), Y up, -Z forward (Blender's default FBX axes; Unity converts the
    # file's axis system on import).
    "unity": dict(axis_forward="-Z", axis_up="Y", unit="m"),
    # Unreal: centimeters (data scaled ×100, UnitScaleFactor 1), Z up, Blender's own axes: ('Z', 'Y') is the
    # right-handed Z-up, front -Y system that Unreal's FBX importer converts every file to (ConvertScene), so
    # nothing is rotated on either side; a head facing -Y in Blender faces +Y in Unreal, like the mannequin.
    "unreal": dict(axis_forward="Y", axis_up="Z", unit="cm"),
}


def log(msg: str) -> None:
    print(f"[blender_worker] {msg}", flush=True)


# ------------------------------------------------------------------------------------------------ common
def empty_scene(fps: int) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = int(fps)  # before the import: the glTF importer converts key times with it
    scene.render.fps_base = 1.0


def import_file(path: str) -> None:
    ext = os.path.splitext(path)[1].lower()
    if ext in (".glb", ".gltf"):
        bpy.ops.import_scene.gltf(filepath=path)
    elif ext == ".fbx":
        bpy.ops.import_scene.fbx(filepath=path, use_anim=True)
    else:
        raise ValueError(f"input: expected a .glb, .gltf or .fbx file, got {path!r}")


# ------------------------------------------------------------------------------------------------ animation
CLIP_GAP = 10  # frames of timeline between two clips' strips (no strip ever touches another)
REST_TRACK = "(rest)"  # the shape keys' NLA track that holds them at rest outside the takes


def gltf_json(path: str) -> dict:
    """The JSON document of a .glb or .gltf."""
    with open(path, "rb") as f:
        head = f.read(20)
        if head[:4] == b"glTF":
            return json.loads(f.read(int.from_bytes(head[12:16], "little")))
        return json.loads(head + f.read())


def gltf_clips(doc: dict) -> tuple[list[str], dict[str, list[float]]]:
    """The animation names in file order (the FBX takes keep it) and each named mesh's default morph weights:
    the weights glTF shows while a clip does not animate them (``key_block.value`` is no record of them: the
    importer's first clip has been evaluated into it by then)."""
    names = [a.get("name") or f"Animation_{i}" for i, a in enumerate(doc.get("animations") or [])]
    weights = {m["name"]: list(m["weights"]) for m in doc.get("meshes") or [] if m.get("name") and m.get("weights")}
    return names, weights


def _clip_tracks(idb) -> dict[str, "bpy.types.Action"]:
    """Track name → action of the importer's stashed NLA tracks on ``idb`` (one track per glTF animation)."""
    ad = idb.animation_data
    out = {}
    for track in (ad.nla_tracks if ad else ()):
        for strip in track.strips:
            if strip.action is not None:
                out.setdefault(track.name, strip.action)
    return out


def _key_range(action) -> tuple[float, float] | None:
    frames = [kp.co[0] for fc in action.fcurves for kp in fc.keyframe_points]
    return (min(frames), max(frames)) if frames else None


def _rest_value(data_path: str, index: int) -> float:
    """A pose bone channel at rest (pose space): identity rotation, unit scale, no offset."""
    prop = data_path.rsplit(".", 1)[-1]
    if prop == "rotation_quaternion":
        return 1.0 if index == 0 else 0.0
    return 1.0 if prop == "scale" else 0.0


def _fill_rest(action, channels: dict[tuple[str, int], float], end: float) -> None:
    """Give ``action`` a constant curve at the rest value for every channel it does not key, so that no pose
    or shape key keeps the last value of the previous take while a take is baked."""
    have = {(fc.data_path, fc.array_index) for fc in action.fcurves}
    for (path, index), value in channels.items():
        if (path, index) in have:
            continue
        fc = action.fcurves.new(path, index=index)
        fc.keyframe_points.add(2)
        fc.keyframe_points.foreach_set("co", [0.0, value, end, value])
        for kp in fc.keyframe_points:
            kp.interpolation = "LINEAR"
        fc.update()


def _put_strips(idb, actions: dict[str, "bpy.types.Action"], layout: list[tuple[str, float, float]]) -> None:
    """Replace ``idb``'s animation with one unmuted NLA track per clip (named after it), each holding one strip
    ``[start, start + length]`` of the clip's action with no extrapolation (``actions`` may hold more: the rest
    action, named in ``layout`` like a clip)."""
    ad = idb.animation_data or idb.animation_data_create()
    ad.action = None
    for track in list(ad.nla_tracks):
        ad.nla_tracks.remove(track)
    prev = None
    for name, start, length in layout:
        action = actions[name]
        action.use_frame_range = True  # the strip spans the whole clip, not only its keyed frames
        action.frame_start, action.frame_end = 0.0, length
        track = ad.nla_tracks.new(prev=prev)
        track.name = name
        strip = track.strips.new(name, int(start), action)
        strip.action_frame_start, strip.action_frame_end = 0.0, length
        strip.frame_end = start + length
        strip.extrapolation = "NOTHING"
        strip.blend_type = "REPLACE"
        strip.name = name
        if strip.name != name and name != REST_TRACK:
            raise ValueError(f"animations: clip name {name!r} does not fit a Blender name (63 bytes); "
                             f"it would be written as {strip.name!r}")
        prev = track


def layout_clips(names: list[str], default_weights: dict[str, list[float]], armatures: list,
                 meshes: list) -> list[dict]:
    """Every glTF clip → one FBX take (``bake_anim_use_nla_strips=True``: the exporter bakes each unmuted NLA
    strip of an object into its own AnimationStack named after the strip, frames from the strip's start).

    The importer stashes each clip as muted NLA tracks: one on the armature (joint rotations) and one on each
    mesh's shape keys (morph weights), for the clips that animate them. Here the clips are laid out one after
    the other on the timeline (``CLIP_GAP`` frames apart); the take carrier (the armature, else the first mesh)
    gets one track and strip per clip, and each mesh's shape keys get a strip per clip at the same frames. The
    exporter mutes all the carrier's strips but the one it bakes, and the shape-key strips (which it does not
    mute) are only active inside their own clip's range, so each take holds its own morph curves on every LOD
    and its own joint curves. A clip that does not key a channel some other clip keys gets a constant rest
    curve (and one without morphs or joints an action of rest curves: the glTF mesh's default weights, else 0;
    identity pose), so no value leaks from one take into the next. Returns, per clip in file order: name, start
    frame on the timeline, frames, morph/joint flags.
    """
    carrier = armatures[0] if armatures else (meshes[0] if meshes else None)
    keyed = [m.data.shape_keys for m in meshes if m.data.shape_keys is not None]
    rest_weights = {m.data.shape_keys: default_weights.get(m.data.name, []) for m in meshes if m.data.shape_keys}
    per_id = {idb: _clip_tracks(idb) for idb in ([carrier] if carrier is not None else []) + keyed}
    for o in armatures[1:] + [m for m in meshes if m is not carrier]:
        if o.animation_data:  # object-level clips elsewhere would make extra takes: not in our assets
            for track in o.animation_data.nla_tracks:
                track.mute = True
    found = {n for tracks in per_id.values() for n in tracks}
    names = [n for n in names if n in found] + sorted(found - set(names))
    if not names or carrier is None:
        return []
    lengths = {}
    for name in names:
        ends = [r[1] for tracks in per_id.values() if name in tracks for r in [_key_range(tracks[name])] if r]
        lengths[name] = max([1.0] + ends)  # glTF clips start at time 0; a one-key clip gets one frame
    layout, start = [], 0
    for name in names:
        layout.append((name, float(start), lengths[name]))
        start += math.ceil(lengths[name] - 1e-6) + CLIP_GAP
    rest_frame = start  # after every clip: where the scene stands when the FBX writes its static pose
    info = {name: {"name": name, "start_frame": s, "frames": n, "morph": False, "joints": []}
            for name, s, n in layout}
    for idb, tracks in per_id.items():
        is_key = idb in keyed
        channels = {}
        if is_key:
            rest = rest_weights[idb]
            channels = {(f'key_blocks["{k.name}"].value', 0): float(rest[i]) if i < len(rest) else 0.0
                        for i, k in enumerate(idb.key_blocks[1:])}
        for action in tracks.values():
            for fc in action.fcurves:
                if not is_key and fc.data_path.startswith("pose.bones["):
                    channels[(fc.data_path, fc.array_index)] = _rest_value(fc.data_path, fc.array_index)
        actions = {}
        for name, _, length in layout:
            action = tracks.get(name)
            if action is None:
                action = bpy.data.actions.new(f"{name}_{idb.name}")
                action.id_root = "KEY" if is_key else "OBJECT"
            else:
                if is_key:
                    info[name]["morph"] = True
                else:
                    info[name]["joints"] = sorted({fc.data_path.split('"')[1] for fc in action.fcurves
                                                   if fc.data_path.startswith("pose.bones[")})
            _fill_rest(action, channels, length)
            actions[name] = action
        rest = bpy.data.actions.new(f"rest_{idb.name}")
        rest.id_root = "KEY" if is_key else "OBJECT"
        _fill_rest(rest, channels, 1.0)
        if is_key:  # a strip outside the takes: the shape keys rest at rest_frame (not a take: not the carrier)
            _put_strips(idb, {**actions, REST_TRACK: rest}, layout + [(REST_TRACK, float(rest_frame), 1.0)])
        else:  # the carrier's active action: the exporter unassigns it while baking the takes and puts it back
            _put_strips(idb, actions, layout)
            idb.animation_data.action = rest
    # The FBX's static values (bone Lcl Rotation, shape DeformPercent) are the scene's state at its current
    # frame after the bake: the rest pose and default weights, not a frame of some clip.
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 0, rest_frame
    scene.frame_set(rest_frame)
    return [info[name] for name, _, _ in layout]


# ------------------------------------------------------------------------------------------------ export
def fix_scene_for_fbx(preset: str, work_dir: str, source: str) -> dict:
    """Everything between the glTF import and the FBX export; returns notes for the report."""
    notes: dict = {}
    scene = bpy.context.scene
    meshes = [o for o in scene.objects if o.type == "MESH"]
    armatures = [o for o in scene.objects if o.type == "ARMATURE"]

    # Stray bone-shape meshes (bpy 5.0's importer adds an 'Icosphere'; it would become an FBX model).
    stray = [o for o in meshes if o.name.startswith("Icosphere") or o.data.name.startswith("Icosphere")]
    stray_names = [o.name for o in stray]
    for o in stray:
        bpy.data.objects.remove(o, do_unlink=True)
    removed = list(stray_names)
    meshes = [o for o in scene.objects if o.type == "MESH"]

    # Blender 3.4's glTF importer keeps each skinned glTF node as an empty named after the node and puts the
    # mesh object (named '<node>.001') beside it: drop such childless empties and give the meshes the LOD names.
    for o in meshes:
        want = o.data.name
        other = bpy.data.objects.get(want)
        if other is not None and other is not o and other.type == "EMPTY" and not other.children:
            removed.append(other.name)
            bpy.data.objects.remove(other, do_unlink=True)
        if o.name != want and bpy.data.objects.get(want) is None:
            o.name = want
    notes["removed_objects"] = removed

    # LOD group: one parent empty '<name>_LODGroup' over '<name>_LOD0..n' (Unity builds a LODGroup from the
    # names; Unreal's importer reads an FBX LodGroup node, which the 'fbx_type' custom property makes).
    lod_meshes = sorted((o for o in meshes if "_LOD" in o.name), key=lambda o: o.name)
    if lod_meshes:
        base = lod_meshes[0].name.rsplit("_LOD", 1)[0]
        group = bpy.data.objects.new(f"{base}_LODGroup", None)
        scene.collection.objects.link(group)
        if preset == "unreal":
            group["fbx_type"] = "LodGroup"
        for o in lod_meshes:
            world = o.matrix_world.copy()
            o.parent = group
            o.matrix_world = world
        notes["lod_group"] = group.name
        notes["lods"] = [o.name for o in lod_meshes]

    # Images: each under its own file name (embedded images without names collide in the FBX: the normal map
    # would become the albedo). The FBX embeds them (path_mode COPY + embed_textures) under these names.
    os.makedirs(work_dir, exist_ok=True)
    images = []
    used = set()
    for img in bpy.data.images:
        if img.type != "IMAGE" or (img.packed_file is None and not img.filepath):
            continue
        stem = "".join(c if c.isalnum() or c in "_-." else "_" for c in img.name) or "image"
        name, k = stem, 1
        while name.lower() in used:
            k += 1
            name = f"{stem}_{k}"
        used.add(name.lower())
        path = os.path.join(work_dir, name + ".png")
        if img.packed_file is not None:
            with open(path, "wb") as f:
                f.write(img.packed_file.data)
            img.filepath = path
            img.unpack(method="REMOVE")
        else:
            img.filepath_raw = path
            img.file_format = "PNG"
            img.save()
        img.filepath = path
        images.append(name + ".png")
    notes["images"] = images

    # Units: Unreal gets centimeters in the data (scale 100 applied to objects, bones, shape keys and
    # bone-location keys), with the scene unit set to centimeters so the FBX says UnitScaleFactor 1.
    if PRESETS[preset]["unit"] == "cm":
        factor = 100.0
        roots = [o for o in scene.objects if o.parent is None]
        for o in roots:
            o.location = o.location * factor
            o.scale = o.scale * factor
        bpy.context.view_layer.update()
        bpy.ops.object.select_all(action="SELECT")
        bpy.context.view_layer.objects.active = armatures[0] if armatures else roots[0]
        bpy.ops.object.transform_apply(location=False, rotation=False, scale=True)
        for a in bpy.data.actions:
            for fc in a.fcurves:
                if fc.data_path.endswith(".location") or fc.data_path == "location":
                    for kp in fc.keyframe_points:
                        kp.co[1] *= factor
                        kp.handle_left[1] *= factor
                        kp.handle_right[1] *= factor
        scene.unit_settings.system = "METRIC"
        scene.unit_settings.scale_length = 0.01
        scene.unit_settings.length_unit = "CENTIMETERS"

    # Animation: every glTF clip becomes one FBX take (see layout_clips).
    notes["clips"] = layout_clips(*gltf_clips(gltf_json(source)), armatures, meshes)
    return notes


def bake_without_split_normals() -> None:
    """Make the FBX exporter's take bake ~3× faster: it evaluates every mesh at every frame of every take, and
    with the glTF importer's custom split normals (auto smooth) on, that is most of its time (measured with
    Blender 3.4.1 on two open-head LODs: 34 ms a frame, 9 ms without). The bake reads only bone transforms
    and shape-key values; the normals are written from the mesh data afterwards, with auto smooth back on
    (the tests compare them). A no-op where the exporter or ``use_auto_smooth`` (gone in Blender 4.1) differ."""
    try:
        from io_scene_fbx import export_fbx_bin
    except ImportError:
        return
    bake = getattr(export_fbx_bin, "fbx_animations", None)
    if bake is None or getattr(bake, "assetgen_wrapped", False):
        return

    def fbx_animations(scene_data):
        smooth = [me for me in bpy.data.meshes if getattr(me, "use_auto_smooth", False)]
        for me in smooth:
            me.use_auto_smooth = False
        try:
            return bake(scene_data)
        finally:
            for me in smooth:
                me.use_auto_smooth = True
            bpy.context.view_layer.update()

    fbx_animations.assetgen_wrapped = True
    export_fbx_bin.fbx_animations = fbx_animations


def do_export(args: dict) -> dict:
    preset = args["preset"]
    if preset not in PRESETS:
        raise ValueError(f"preset: expected one of {sorted(PRESETS)}, got {preset!r}")
    p = PRESETS[preset]
    t = {"start": time.perf_counter() - T0}
    empty_scene(args.get("fps", 30))
    t0 = time.perf_counter()
    import_file(args["input"])
    t["import"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    notes = fix_scene_for_fbx(preset, args["work_dir"], args["input"])
    t["fix"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    bake_without_split_normals()
    bpy.ops.export_scene.fbx(
        filepath=args["output"],
        use_selection=False,
        object_types={"ARMATURE", "MESH", "EMPTY"},
        apply_unit_scale=True,
        apply_scale_options="FBX_SCALE_ALL",  # scale 1 on every node; the unit goes to UnitScaleFactor
        global_scale=1.0,
        axis_forward=p["axis_forward"],
        axis_up=p["axis_up"],
        bake_space_transform=False,  # 'experimental, breaks armatures' (Blender manual)
        use_mesh_modifiers=False,  # keep shape keys (modifiers would be applied and shape keys dropped)
        mesh_smooth_type="FACE",
        use_tspace=True,
        use_custom_props=True,
        add_leaf_bones=False,  # no '_end' bones: the skeleton stays the asset's joints
        primary_bone_axis="Y",
        secondary_bone_axis="X",
        armature_nodetype="NULL",
        bake_anim=True,
        bake_anim_use_all_bones=True,
        bake_anim_use_nla_strips=True,  # one take per strip of the carrier (layout_clips)
        bake_anim_use_all_actions=False,  # it would add a take per action and ignore the shape-key strips
        bake_anim_force_startend_keying=True,
        bake_anim_step=1.0,
        bake_anim_simplify_factor=0.0,  # keep every baked key
        path_mode="COPY",
        embed_textures=True,
    )
    t["export"] = time.perf_counter() - t0
    return {"timings_s": t, "blender_version": bpy.app.version_string, "preset": preset, **notes}


# ------------------------------------------------------------------------------------------------ inspect
def _raw_fbx(path: str) -> dict:
    """GlobalSettings and raw geometry bounds straight from the file (Blender's FBX parser)."""
    from io_scene_fbx import parse_fbx

    root, version = parse_fbx.parse(path)

    def child(elem, name):
        for e in elem.elems:
            if e.id == name:
                return e
        return None

    out: dict = {"version": version, "global_settings": {}, "geometry_bounds": {}, "models": {}}
    gs = child(root, b"GlobalSettings")
    props = child(gs, b"Properties70") if gs else None
    for p in (props.elems if props else ()):
        key = p.props[0].decode()
        if key in ("UpAxis", "UpAxisSign", "FrontAxis", "FrontAxisSign", "CoordAxis", "CoordAxisSign",
                   "UnitScaleFactor", "OriginalUnitScaleFactor", "CustomFrameRate", "TimeMode"):
            out["global_settings"][key] = p.props[4]
    objects = child(root, b"Objects")
    for e in (objects.elems if objects else ()):
        name = e.props[1].split(b"\x00")[0].decode() if len(e.props) > 1 else ""
        if e.id == b"Geometry" and e.props[2] == b"Mesh":
            v = child(e, b"Vertices")
            if v is not None:
                arr = numpy.asarray(v.props[0], dtype=numpy.float64).reshape(-1, 3)
                out["geometry_bounds"][name] = [arr.min(0).tolist(), arr.max(0).tolist()]
        elif e.id == b"Model":
            out["models"][name] = e.props[2].decode()
        elif e.id == b"NodeAttribute" and len(e.props) > 2:
            out.setdefault("node_attributes", {})[name] = e.props[2].decode()
        elif e.id == b"AnimationStack":  # one take: its name and time span (FBX ktime, 46186158000 a second)
            span = {p.props[0].decode(): p.props[4] / 46186158000 for p in (child(e, b"Properties70") or e).elems
                    if p.id == b"P" and p.props[0] in (b"LocalStart", b"LocalStop")}
            out.setdefault("anim_stacks", []).append({"name": name, "LocalStart": 0.0, **span})
    return out


def _image_nodes(mat) -> list[dict]:
    out = []
    if not mat.use_nodes or mat.node_tree is None:
        return out
    for n in mat.node_tree.nodes:
        if n.type == "TEX_IMAGE" and n.image is not None:
            img = n.image
            px = numpy.empty(len(img.pixels), numpy.float32)
            img.pixels.foreach_get(px)
            links = [f"{l.to_node.type}:{l.to_socket.name}" for o in n.outputs for l in o.links]
            out.append({"node": n.name, "image": img.name, "file": os.path.basename(img.filepath),
                        "size": list(img.size), "packed": img.packed_file is not None, "links": links,
                        "pixel_hash": float(px[::97].sum()), "mean": float(px.mean()) if px.size else 0.0})
    return out


def do_inspect(args: dict) -> dict:
    empty_scene(args.get("fps", 30))
    t0 = time.perf_counter()
    import_file(args["input"])
    t_import = time.perf_counter() - t0
    scene = bpy.context.scene
    bpy.context.view_layer.update()
    objects = []
    for o in scene.objects:
        info = {"name": o.name, "type": o.type, "parent": o.parent.name if o.parent else None,
                "dimensions": list(o.dimensions), "matrix_world_scale": list(o.matrix_world.to_scale()),
                "custom_props": {k: str(v) for k, v in o.items() if not k.startswith("_")}}
        if o.type == "MESH":
            me = o.data
            me.calc_loop_triangles()
            info.update(vertices=len(me.vertices), triangles=len(me.loop_triangles),
                        vertex_groups=[g.name for g in o.vertex_groups],
                        materials=[m.name if m else None for m in me.materials],
                        armature_modifiers=[m.object.name if m.object else None for m in o.modifiers
                                            if m.type == "ARMATURE"])
            # world-space bounds of the evaluated mesh at rest
            co = numpy.empty(len(me.vertices) * 3, numpy.float64)
            me.vertices.foreach_get("co", co)
            co = co.reshape(-1, 3)
            mw = numpy.array(o.matrix_world)
            wco = co @ mw[:3, :3].T + mw[:3, 3]
            info["world_bounds"] = [wco.min(0).tolist(), wco.max(0).tolist()] if len(co) else None
            sk = me.shape_keys
            if sk is not None:
                info["shape_keys"] = [k.name for k in sk.key_blocks[1:]]  # without the basis
                moved = {}
                for k in sk.key_blocks[1:]:
                    d = numpy.empty(len(me.vertices) * 3, numpy.float64)
                    k.data.foreach_get("co", d)
                    moved[k.name] = float(numpy.abs(d.reshape(-1, 3) - co).max())
                info["shape_key_max_delta"] = moved
                ad = sk.animation_data
                info["shape_key_action"] = ad.action.name if ad and ad.action else None
                info["shape_key_id"] = sk.name  # FBX import names each take's action '<this>|<take>'
            weighted = numpy.zeros(len(me.vertices), bool)
            for v in me.vertices:
                if any(g.weight > 0 for g in v.groups):
                    weighted[v.index] = True
            info["weighted_vertices"] = int(weighted.sum())
        if o.type == "ARMATURE":
            info["bones"] = [b.name for b in o.data.bones]
            info["bone_parents"] = {b.name: (b.parent.name if b.parent else None) for b in o.data.bones}
        ad = o.animation_data
        if ad is not None:
            info["action"] = ad.action.name if ad.action else None
            info["nla_tracks"] = [t.name for t in ad.nla_tracks]
        objects.append(info)
    materials = [{"name": m.name, "images": _image_nodes(m)} for m in bpy.data.materials if m.users]
    actions = []
    wanted = set(args.get("curves") or ())  # 'data_path[index]' curves whose keys go into the report
    for a in bpy.data.actions:
        keys = {}
        for fc in a.fcurves:
            keys[f"{fc.data_path}[{fc.array_index}]"] = len(fc.keyframe_points)
        values = {}
        for fc in a.fcurves:
            if fc.keyframe_points:
                ys = [kp.co[1] for kp in fc.keyframe_points]
                values[f"{fc.data_path}[{fc.array_index}]"] = [min(ys), max(ys)]
        curves = {k: [list(kp.co) for kp in fc.keyframe_points] for fc in a.fcurves
                  for k in [f"{fc.data_path}[{fc.array_index}]"] if k in wanted}
        actions.append({"name": a.name, "frame_range": list(a.frame_range), "fcurves": len(a.fcurves),
                        "id_root": a.id_root, "keys": keys, "value_range": values, "users": a.users,
                        "curves": curves})
    out = {"blender_version": bpy.app.version_string, "import_s": t_import,
           "fps": scene.render.fps, "frame_range": [scene.frame_start, scene.frame_end],
           "unit_scale": scene.unit_settings.scale_length, "objects": objects, "materials": materials,
           "images": [{"name": i.name, "file": os.path.basename(i.filepath), "size": list(i.size)}
                      for i in bpy.data.images if i.type == "IMAGE"],
           "actions": actions}
    if args["input"].lower().endswith(".fbx"):
        out["raw"] = _raw_fbx(args["input"])
    return out


# ------------------------------------------------------------------------------------------------ main
def main() -> None:
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    if len(argv) != 1:
        raise SystemExit("usage: blender -b --factory-startup --python-exit-code 3 --python blender_worker.py "
                         "-- '<json>'")
    args = json.loads(argv[0])
    mode = args.get("mode")
    if mode == "export":
        result = do_export(args)
    elif mode == "inspect":
        result = do_inspect(args)
    else:
        raise ValueError(f"mode: expected 'export' or 'inspect', got {mode!r}")
    result["total_s"] = time.perf_counter() - T0
    with open(args["report"], "w") as f:
        json.dump(result, f, indent=1, default=str)
    log(f"{mode} done in {result['total_s']:.2f} s")


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        sys.exit(3)
