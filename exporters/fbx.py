"""FBX export of a head through Blender, run as a worker process: ``export_fbx(asset | glb, path, preset=...)``.

Blender is not a Python dependency of the project: the glb is written by :func:`exporters.gltf.export_glb`
and a Blender process (``exporters/blender_worker.py``) imports it and writes the FBX. Blender is found by
:func:`find_blender` (argument, ``$ASSETGEN_BLENDER``, ``blender`` on ``PATH``); install it with
``bash scripts/install_tools.sh`` (Debian package ``blender`` 3.4.1 plus ``python3-numpy``). The glb path never
needs Blender.

What the worker does about the FBX exporter's data-loss traps (each checked by ``tests/test_fbx.py``):

1. every animation clip becomes its own FBX take (AnimationStack, named after the clip, from 0 to the clip's
   duration; Unity and Unreal import each take as a clip). Blender's NLA-strip bake writes one take per strip
   of an object, but only mutes and unmutes *object* strips, so morph-only clips and shape-key curves need
   care (the trap behind "morph-only animation is dropped"): the worker lays the clips out one after the other
   on the timeline, gives the armature one strip per clip (a rest action for a morph-only clip) and every LOD's
   shape keys a strip of the same clip at the same frames, with constant rest curves for the channels a clip
   does not key (no value leaks from one take into the next), and the file's static pose is the rest pose
   with the default weights (not a frame of the first clip); ``scene.render.fps`` is set before the import
   (see ``layout_clips`` in ``exporters/blender_worker.py``). Checked per take, per LOD and per joint by
   reading the FBX back (ufbx and Blender's importer);
2. embedded images without file names collide (the normal map becomes the albedo) → every image is saved
   under its own name (``head_albedo.png``…) and embedded under that name;
3. a stray ``Icosphere`` bone-shape mesh (bpy 5.0's glTF importer) is deleted; Blender 3.4's importer keeps
   each skinned glTF node as an empty beside its mesh: the empties are dropped and the meshes keep the
   ``{name}_LOD{l}`` names. ``add_leaf_bones=False``: the FBX skeleton is the asset's joints, no ``_end`` bones.

Presets:

* ``"unity"``: meters (``apply_scale_options='FBX_SCALE_ALL'`` → ``UnitScaleFactor`` 100, every node at scale
  1), ``axis_forward='-Z', axis_up='Y'`` (Unity converts the file's axis system on import).
* ``"unreal"``: centimeters in the data (objects, bones, shape keys ×100, scene unit cm → ``UnitScaleFactor``
  1, every node at scale 1), ``axis_up='Z', axis_forward='Y'``: Blender's own right-handed Z-up, front −Y axes,
  which is the system Unreal's FBX importer converts every file into (``FFbxImporter::ConvertScene``: "RH −Y",
  unless *Force Front X Axis*), so no rotation is baked into the nodes; a head facing −Y in Blender faces +Y in
  Unreal, like Epic's mannequin.

LODs: one parent empty ``{name}_LODGroup`` over ``{name}_LOD0``, ``_LOD1``…, all skinned to the one armature.
Unity builds a LOD Group from the ``_LOD<n>`` names of sibling meshes (Unity manual, "Importing LOD Meshes");
for Unreal the empty is written as an FBX ``LodGroup`` node (the Blender exporter's ``fbx_type`` custom
property), which Unreal's importer turns into mesh LODs with *Import Mesh LODs* on (skeletal meshes included).
FBX carries base colour and normal textures (the ORM map stays in the glb and bundle) and every animation clip
(:attr:`FbxResult.clips`). Clip names must fit Blender's 63-byte names (``ValueError`` naming ``animations``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FbxClip", "FbxResult", "PRESETS", "export_fbx", "find_blender", "blender_inspect", "INSTALL_HINT"]

PRESETS = ("unity", "unreal")
WORKER = Path(__file__).with_name("blender_worker.py")
INSTALL_HINT = ("FBX export needs Blender: run `bash scripts/install_tools.sh` (Debian package blender) "
                "or set ASSETGEN_BLENDER")


@dataclass(frozen=True)
class FbxClip:
    """One take of the FBX: ``name`` (the clip's), ``frames`` at the export ``fps`` (``duration_s`` =
    frames / fps; the take spans 0…duration_s and is keyed at every frame), ``morph_weights``: it animates shape
    keys (on every LOD), ``joints``: the bones it rotates."""

    name: str
    frames: float
    duration_s: float
    morph_weights: bool
    joints: tuple[str, ...] = ()


@dataclass(frozen=True)
class FbxResult:
    """What :func:`export_fbx` wrote.

    Attributes:
        path: the FBX file.
        preset: ``"unity"`` or ``"unreal"``.
        blender_version: e.g. ``"3.4.1"``.
        size_bytes: file size.
        timings_s: ``glb`` (export_glb, when given an asset), ``blender_start`` (process start and exit, the
            wall time not spent in the worker script), ``import`` (glTF import), ``fix`` (scene fixes),
            ``export`` (FBX writer), ``total`` (wall time of the whole call).
        lods: LOD mesh names in the file; ``lod_group``: their parent empty.
        images: texture file names embedded in the FBX.
        clips: every take in the file, in the source's clip order (:class:`FbxClip`); ``clip``: the first
            one's name (``None`` without animation); ``skipped_clips``: clips of the source that are not in
            the file (empty: every clip is written; kept for callers of the one-clip exporter).
    """

    path: Path
    preset: str
    blender_version: str
    size_bytes: int
    timings_s: dict[str, float]
    lods: tuple[str, ...] = ()
    lod_group: str | None = None
    images: tuple[str, ...] = ()
    clip: str | None = None
    skipped_clips: tuple[str, ...] = ()
    clips: tuple[FbxClip, ...] = ()
    report: dict[str, Any] = field(default_factory=dict, repr=False)


def find_blender(blender: str | os.PathLike | None = None) -> str:
    """The Blender executable: ``blender`` if given, else ``$ASSETGEN_BLENDER``, else ``blender`` on ``PATH``.

    Raises:
        RuntimeError: none found or not executable (the message names ``scripts/install_tools.sh``).
    """
    candidate = blender if blender is not None else os.environ.get("ASSETGEN_BLENDER") or None
    if candidate is not None:
        path = shutil.which(str(candidate))
        if path is None:
            raise RuntimeError(f"{INSTALL_HINT} (not an executable: {str(candidate)!r})")
        return path
    path = shutil.which("blender")
    if path is None:
        raise RuntimeError(f"{INSTALL_HINT} (no `blender` on PATH)")
    return path


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):  # the project's venv must not leak into Blender
        env.pop(key, None)
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run_worker(exe: str, args: dict, timeout_s: float, log_path: Path) -> dict:
    """Run the worker with ``args``; returns its JSON report. Raises RuntimeError with the log's last lines."""
    report = Path(args["report"])
    cmd = [exe, "-b", "--factory-startup", "--python-exit-code", "3", "--python", str(WORKER), "--",
           json.dumps(args)]
    try:
        with open(log_path, "w") as log:
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  timeout=timeout_s, env=_worker_env(), check=False)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"Blender worker ({args['mode']}) timed out after {timeout_s:g} s; log tail:\n"
                           f"{_tail(log_path)}") from None
    if rc != 0 or not report.exists():
        raise RuntimeError(f"Blender worker ({args['mode']}) failed with exit code {rc} ({exe}); log tail:\n"
                           f"{_tail(log_path)}")
    return json.loads(report.read_text())


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _check_timeout(timeout_s: float) -> None:
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not timeout_s > 0:
        raise ValueError(f"timeout_s: expected a positive number of seconds, got {timeout_s!r}")


def export_fbx(source, path: str | os.PathLike, *, preset: str = "unity", blender: str | os.PathLike | None = None,
               timeout_s: float = 300.0, fps: int = 30) -> FbxResult:
    """Write ``source`` as an FBX file for Unity or Unreal (see the module docstring).

    Args:
        source: a :class:`~assetgen.asset.HeadAsset`, the bytes of a ``.glb`` made by ``export_glb``, or the
            path of such a ``.glb``.
        path: the ``.fbx`` to write; written atomically (a temporary name in the same folder, then renamed).
        preset: ``"unity"`` (meters, Y up) or ``"unreal"`` (centimeters, Z up).
        blender: the Blender executable (else :func:`find_blender`'s search).
        timeout_s: limit for the Blender process.
        fps: frame rate of the takes: every clip is baked at every frame from its start (a clip whose duration
            is not a whole number of frames holds its last whole-frame key until its end).
    Returns:
        :class:`FbxResult` (``clips``: one take per animation clip of the source).
    Raises:
        ValueError: unknown preset, bad ``timeout_s``/``fps``/``source``, clip names Blender cannot keep
            (``animations``).
        RuntimeError: Blender missing (naming ``scripts/install_tools.sh``), timed out, or failed (with the
            last lines of its log).
    """
    t_call = time.perf_counter()
    if preset not in PRESETS:
        raise ValueError(f"preset: expected one of {list(PRESETS)}, got {preset!r}")
    _check_timeout(timeout_s)
    if isinstance(fps, bool) or not isinstance(fps, int) or not 1 <= fps <= 240:
        raise ValueError(f"fps: expected an integer in [1, 240], got {fps!r}")
    out = Path(path)
    if out.suffix.lower() != ".fbx":
        raise ValueError(f"path: expected a file name ending in .fbx, got {str(path)!r}")
    timings: dict[str, float] = {}
    glb_bytes, glb_path = _source(source, timings)
    names = _clip_names(glb_bytes if glb_bytes is not None else glb_path)
    exe = find_blender(blender)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="assetgen-fbx-") as tmp:
        tmp_dir = Path(tmp)
        if glb_path is None:
            glb_path = tmp_dir / "input.glb"
            glb_path.write_bytes(glb_bytes)
        partial = out.with_name(f".{out.stem}.{os.getpid()}.partial.fbx")
        args = {"mode": "export", "input": str(glb_path), "output": str(partial), "preset": preset, "fps": fps,
                "work_dir": str(tmp_dir / "textures"), "report": str(tmp_dir / "report.json")}
        t0 = time.perf_counter()
        try:
            report = _run_worker(exe, args, timeout_s, tmp_dir / "blender.log")
            wall = time.perf_counter() - t0
            if not partial.exists():
                raise RuntimeError(f"Blender worker wrote no FBX file; log tail:\n{_tail(tmp_dir / 'blender.log')}")
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    w = report["timings_s"]
    timings.update({"blender_start": max(0.0, wall - report["total_s"]) + w["start"], "import": w["import"],
                    "fix": w["fix"], "export": w["export"]})
    timings["total"] = time.perf_counter() - t_call
    clips = tuple(FbxClip(c["name"], c["frames"], c["frames"] / fps, c["morph"], tuple(c["joints"]))
                  for c in report.get("clips") or ())
    written = {c.name for c in clips}
    return FbxResult(path=out, preset=preset, blender_version=report["blender_version"],
                     size_bytes=out.stat().st_size, timings_s=timings, lods=tuple(report.get("lods") or ()),
                     lod_group=report.get("lod_group"), images=tuple(report.get("images") or ()),
                     clip=clips[0].name if clips else None, skipped_clips=tuple(n for n in names if n not in written),
                     clips=clips, report=report)


def _clip_names(glb: bytes | Path) -> list[str]:
    """The glb's animation names, ``[]`` when its JSON is unreadable (Blender then fails with its log).

    Raises ValueError naming ``animations`` when Blender could not keep the clips apart (a take is named after
    its NLA strip, and Blender names hold 63 bytes).
    """
    if isinstance(glb, Path):
        with open(glb, "rb") as f:
            head = f.read(20)
            glb = head + f.read(int.from_bytes(head[12:16], "little"))
    try:
        doc = json.loads(glb[20:20 + int.from_bytes(glb[12:16], "little")])
        names = [str(a.get("name") or f"Animation_{i}") for i, a in enumerate(doc.get("animations") or [])]
    except (ValueError, AttributeError, TypeError):
        return []
    for n in names:
        if len(n.encode()) > 63:
            raise ValueError(f"animations: clip name {n!r} is longer than Blender's 63-byte names "
                             "(the FBX take would be cut short)")
    if len(set(names)) != len(names):
        raise ValueError(f"animations: clip names must be unique, got {names}")
    return names


def _source(source, timings: dict[str, float]) -> tuple[bytes | None, Path | None]:
    from assetgen.asset.types import HeadAsset

    if isinstance(source, HeadAsset):
        from exporters.gltf import export_glb

        t0 = time.perf_counter()
        data = export_glb(source)
        timings["glb"] = time.perf_counter() - t0
        return data, None
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if data[:4] != b"glTF":
            raise ValueError("source: bytes are not a binary glTF (.glb) file")
        return data, None
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if p.suffix.lower() != ".glb" or not p.is_file():
            raise ValueError(f"source: expected an existing .glb file, got {str(source)!r}")
        return None, p.resolve()
    raise ValueError(f"source: expected a HeadAsset, .glb bytes or a .glb path, got {type(source).__name__}")


def blender_inspect(path: str | os.PathLike, *, blender: str | os.PathLike | None = None, timeout_s: float = 300.0,
                    fps: int = 30, curves: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    """Import ``path`` (.glb or .fbx) into an empty Blender scene and describe what came in (for tests and
    debugging): objects (type, parent, dimensions, world bounds), per mesh vertex/triangle counts, shape keys,
    vertex groups, materials; armature bones; materials with their image texture nodes; actions with frame
    ranges and key counts (and every ``[frame, value]`` key of the F-curves named in ``curves``, e.g.
    ``'key_blocks["eyeBlinkLeft"].value[0]'``); scene units; for FBX also the file's raw ``GlobalSettings``,
    geometry bounds and animation stacks (takes: name, ``LocalStart``/``LocalStop`` seconds).
    """
    _check_timeout(timeout_s)
    if isinstance(curves, str) or not all(isinstance(c, str) for c in curves):
        raise ValueError(f"curves: expected a list of 'data_path[index]' strings, got {curves!r}")
    exe = find_blender(blender)
    with tempfile.TemporaryDirectory(prefix="assetgen-inspect-") as tmp:
        args = {"mode": "inspect", "input": str(Path(path).resolve()), "fps": int(fps), "curves": list(curves),
                "report": str(Path(tmp) / "report.json")}
        return _run_worker(exe, args, timeout_s, Path(tmp) / "blender.log")
