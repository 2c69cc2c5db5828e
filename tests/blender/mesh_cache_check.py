"""Run inside Blender (``blender -b --python-exit-code 3 --python mesh_cache_check.py -- '<json>'``): import a glb,
play a PC2 on its LOD0 mesh through the Mesh Cache modifier with the settings the vertex-cache exporter
documents, and dump the evaluated vertex positions at the requested frames; before that, the positions of Blender's own
playback of the imported clip (shape keys + armature) (tests/test_vertex_cache.py)."""

import json
import sys

import numpy

numpy.bool = bool  # Debian Blender 3.4's glTF importer still uses numpy.bool
import bpy  # noqa: E402

args = json.loads(sys.argv[sys.argv.index("--") + 1])
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.context.scene.render.fps = int(args["fps"])
bpy.ops.import_scene.gltf(filepath=args["glb"])
obj = next(o for o in bpy.data.objects if o.type == "MESH" and "_LOD0" in o.name)


def positions() -> list:
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    co = [0.0] * (len(mesh.vertices) * 3)
    mesh.vertices.foreach_get("co", co)
    evaluated.to_mesh_clear()
    return co


out = {"object": obj.name, "frames": {}, "played": {}}
for frame in args["frames"]:  # Blender's own playback of the imported clip: shape keys + armature
    bpy.context.scene.frame_set(frame)
    out["played"][str(frame)] = positions()
for mod in list(obj.modifiers):  # the cache already holds skinning and blendshapes
    obj.modifiers.remove(mod)
if obj.data.shape_keys:
    obj.shape_key_clear()
cache = obj.modifiers.new("vertex_cache", "MESH_CACHE")
for key, value in args["settings"].items():
    if key != "remove":
        setattr(cache, key, value)
cache.filepath = args["pc2"]
for frame in args["frames"]:
    bpy.context.scene.frame_set(frame)
    out["frames"][str(frame)] = positions()
with open(args["out"], "w") as f:
    json.dump(out, f)
