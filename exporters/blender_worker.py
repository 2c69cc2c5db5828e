"""Blender worker for :mod:`exporters.fbx`: runs *inside* Blender, never imported by the project.

    blender -b --factory-startup --python-exit-code 3 --python exporters/blender_worker.py -- '<json>'

The JSON argument is an object with ``mode``:

* ``"export"``: ``{"mode": "export", "input": "head.glb", "output": "head.fbx", "preset": "unity"|"unreal",
  "fps": 30, "work_dir": "...", "report": "report.json"}`` — imports the glb, fixes what the FBX exporter
  would lose (see :mod:`exporters.fbx`), writes the FBX to ``output`` and a JSON report (timings, Blender version,
  what was exported) to ``report``.
* ``"inspect"``: ``{"mode": "inspect", "input": "x.fbx"|"x.glb", "fps": 30, "report": "report.json"}`` — imports
  the file into an empty scene and writes what came in (objects, meshes, shape keys, bones, vertex groups,
  materials with their image textures, actions, scene units; for FBX also the file's raw ``GlobalSettings`` and
  per-geometry raw vertex bounds) to ``report``; the tests assert on it.

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


def actions_frame_range() -> tuple[int, int] | None:
    lo, hi = math.inf, -math.inf
    for a in bpy.data.actions:
        if a.users == 0:
            continue
        s, e = a.frame_range
        lo, hi = min(lo, s), max(hi, e)
    if lo == math.inf:
        return None
    return int(math.floor(lo + 1e-6)), int(math.ceil(hi - 1e-6))


# ------------------------------------------------------------------------------------------------ export
def fix_scene_for_fbx(preset: str, work_dir: str) -> dict:
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

    # Animation: the frame range from the actions (the FBX exporter bakes only the scene range), and the scene
    # named after the first clip (the FBX take is named after the scene when NLA strips / all actions are off).
    clips = []
    for o in armatures:
        ad = o.animation_data
        if ad is not None:
            clips += [s.name for t in ad.nla_tracks for s in t.strips]
    frame_range = actions_frame_range()
    if frame_range is not None:
        scene.frame_start, scene.frame_end = frame_range
        first = None
        for o in armatures:
            if o.animation_data and o.animation_data.nla_tracks:
                first = o.animation_data.nla_tracks[0].name
        if first is None:
            acts = [a.name for a in bpy.data.actions if a.users]
            first = acts[0] if acts else "Take"
        scene.name = first
    notes["frame_range"] = frame_range
    notes["clips"] = sorted(set(t for o in armatures if o.animation_data
                                for t in [tr.name for tr in o.animation_data.nla_tracks]))
    notes["exported_clip"] = scene.name if frame_range is not None else None
    return notes


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
    notes = fix_scene_for_fbx(preset, args["work_dir"])
    t["fix"] = time.perf_counter() - t0
    t0 = time.perf_counter()
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
        bake_anim_use_nla_strips=False,  # both False: morph-only animation survives (FBX trap 1)
        bake_anim_use_all_actions=False,
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
    for a in bpy.data.actions:
        keys = {}
        for fc in a.fcurves:
            keys[f"{fc.data_path}[{fc.array_index}]"] = len(fc.keyframe_points)
        values = {}
        for fc in a.fcurves:
            if fc.keyframe_points:
                ys = [kp.co[1] for kp in fc.keyframe_points]
                values[f"{fc.data_path}[{fc.array_index}]"] = [min(ys), max(ys)]
        actions.append({"name": a.name, "frame_range": list(a.frame_range), "fcurves": len(a.fcurves),
                        "id_root": a.id_root, "keys": keys, "value_range": values, "users": a.users})
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
