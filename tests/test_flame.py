"""FLAME head model (assetgen.heads.flame) on the stand-in FLAME files of tests/flame_fixture.py."""

from __future__ import annotations

import hashlib
import pickle
import shutil

import numpy as np
import pytest
import smplx
import torch
from flame_fixture import write_deca_embedding, write_flame_folder, write_model_pickle, write_obj
from smplx.lbs import batch_rodrigues
from smplx.lbs import lbs as smplx_lbs

import assetgen.heads
from assetgen.heads.flame import FLAME_LICENSE, FLAME_OPEN_LICENSE, FlameHead, load_flame
from assetgen.heads.flame_landmarks import contour_lookup

TOL32 = 1e-5


def max_err(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape
    return float((a.double() - b.double()).abs().max())


def random_inputs(model: FlameHead, batch: int, seed: int, scale: float = 1.0) -> dict:
    g = torch.Generator().manual_seed(seed)
    r = lambda *s, k=1.0: (torch.randn(*s, generator=g) * k * scale).to(model.dtype)  # noqa: E731
    return dict(shape=r(batch, model.num_shape), expression=r(batch, model.num_expression),
                global_orient=r(batch, 3, k=0.4), neck_pose=r(batch, 3, k=0.3), jaw_pose=r(batch, 3, k=0.2),
                eye_pose=r(batch, 2, 3, k=0.3), translation=r(batch, 3, k=0.1))


def smplx_forward(layer: smplx.FLAMELayer, inputs: dict):
    rot = lambda a: batch_rodrigues(a.reshape(-1, 3)).reshape(-1, 1, 3, 3)  # noqa: E731
    out = layer(betas=inputs["shape"], expression=inputs["expression"], global_orient=rot(inputs["global_orient"]),
                neck_pose=rot(inputs["neck_pose"]), jaw_pose=rot(inputs["jaw_pose"]),
                leye_pose=rot(inputs["eye_pose"][:, 0]), reye_pose=rot(inputs["eye_pose"][:, 1]),
                transl=inputs["translation"])
    landmarks = out.joints[:, 5:]  # smplx: 51 static then 17 contour; ours: iBUG order, contour first
    return out.vertices, out.joints[:, :5], torch.cat([landmarks[:, 51:], landmarks[:, :51]], 1)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    return write_flame_folder(tmp_path_factory.mktemp("plain"), variant="plain")


@pytest.fixture(scope="module")
def chumpy_style(tmp_path_factory):
    return write_flame_folder(tmp_path_factory.mktemp("chumpy"), variant="chumpy")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return write_flame_folder(tmp_path_factory.mktemp("small"), num_shape=7, num_expression=3, subdivisions=2,
                              seed=5, masks=False, uv_template=False)


@pytest.fixture(scope="module")
def smplx_folder(plain, tmp_path_factory):
    """smplx.FLAMELayer reads <folder>/FLAME_NEUTRAL.pkl (+ the two embeddings) with plain pickle."""
    folder = tmp_path_factory.mktemp("smplx")
    shutil.copy(plain.model, folder / "FLAME_NEUTRAL.pkl")
    for name in ("flame_static_embedding.pkl", "flame_dynamic_embedding.npy"):
        shutil.copy(plain.folder / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def model(plain) -> FlameHead:
    return load_flame(plain.folder)


# ----------------------------------------------------------------------------------- exactness vs smplx
# smplx rounds the model data to float32 even for a float64 layer (utils.to_np) and offsets the Rodrigues
# angle by 1e-8, so float64 agreement is at the 1e-8 level.
@pytest.mark.parametrize("dtype, tol", [(torch.float32, TOL32), (torch.float64, 1e-7)])
@pytest.mark.parametrize("num_shape, num_expression", [(300, 100), (40, 12)])
def test_forward_matches_smplx(plain, smplx_folder, dtype, tol, num_shape, num_expression):
    layer = smplx.FLAMELayer(model_path=str(smplx_folder), num_betas=num_shape, num_expression_coeffs=num_expression,
                             use_face_contour=True, dtype=dtype)
    ours = load_flame(plain.model, dtype=dtype, num_shape=num_shape, num_expression=num_expression,
                      contour_chain="global")  # smplx 0.1.28 takes the contour yaw from the global rotation
    for batch in (1, 3, 16):
        inputs = random_inputs(ours, batch, seed=batch)
        out = ours(**inputs)
        vertices, joints, landmarks = smplx_forward(layer, inputs)
        assert max_err(out.vertices, vertices) <= tol
        assert max_err(out.joints, joints) <= tol
        assert max_err(out.landmarks, landmarks) <= tol


def test_default_contour_follows_neck_and_matches_smplx_without_neck(model, plain, smplx_folder):
    layer = smplx.FLAMELayer(model_path=str(smplx_folder), num_betas=300, num_expression_coeffs=100,
                             use_face_contour=True)
    inputs = random_inputs(model, 8, seed=11)
    inputs["neck_pose"] = torch.zeros_like(inputs["neck_pose"])
    assert max_err(model(**inputs).landmarks, smplx_forward(layer, inputs)[2]) <= TOL32
    yaw = torch.tensor([[0.0, 0.5, 0.0]])  # turn the head 29° with the neck only
    turned = model(neck_pose=yaw).landmarks
    global_only = load_flame(plain.folder, contour_chain="global")(neck_pose=yaw).landmarks
    assert max_err(turned[:, 17:], global_only[:, 17:]) == 0.0  # static points agree
    assert max_err(turned[:, :17], global_only[:, :17]) > 1e-3  # contour row follows the neck


def test_contour_lookup_is_smplx_yaw_rounding():
    """bucketize(R[2, 0]) over sin((d + ½)°) picks smplx's row (round the yaw to whole degrees, clamp to ±M)."""
    g = torch.Generator().manual_seed(9)
    rot = batch_rodrigues(torch.randn(4000, 3, generator=g, dtype=torch.float64) * 0.8)
    sy = torch.sqrt(rot[:, 0, 0] ** 2 + rot[:, 1, 0] ** 2)
    deg = torch.round(torch.clamp(-torch.atan2(-rot[:, 2, 0], sy) * 180.0 / np.pi, max=39)).long()
    expected = torch.where(deg < 0, torch.where(deg < -39, torch.full_like(deg, 78), 39 - deg), deg)
    rows, bounds = contour_lookup(79)
    assert torch.equal(torch.from_numpy(rows)[torch.bucketize(rot[:, 2, 0].contiguous(), bounds)], expected)
    assert rows.tolist()[:3] == [78, 77, 76] and rows.tolist()[39:42] == [0, 1, 2]


def test_non_standard_counts_match_smplx_lbs(small):
    """7 shape + 3 expression components (smplx.FLAMELayer assumes 300 + 100: use its lbs directly)."""
    ours = load_flame(small.folder, shape_space_dim=7, dtype=torch.float64)
    assert (ours.num_shape, ours.num_expression) == (7, 3)
    assert ours.shape_names[-1] == "shape006" and ours.expression_names == ["expr000", "expr001", "expr002"]
    a = small.arrays
    t = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.float64)  # noqa: E731
    posedirs = t(a["posedirs"]).reshape(-1, 36).T
    parents = torch.tensor([-1, 0, 1, 1, 1])
    for batch in (1, 5):
        inputs = random_inputs(ours, batch, seed=100 + batch)
        full_pose = torch.cat([inputs[k] for k in ("global_orient", "neck_pose", "jaw_pose")]
                              + [inputs["eye_pose"].reshape(batch, 6)], 1)
        betas = torch.cat([inputs["shape"], inputs["expression"]], 1)
        verts, joints = smplx_lbs(betas, full_pose, t(a["v_template"]), t(a["shapedirs"]), posedirs,
                                  t(a["J_regressor"].toarray()), parents, t(a["weights"]))
        out = ours(**inputs)
        shift = inputs["translation"][:, None]
        assert max_err(out.vertices, verts + shift) <= 1e-8  # smplx offsets the Rodrigues angle by 1e-8
        assert max_err(out.joints, joints + shift) <= 1e-8
    fewer = load_flame(small.folder, shape_space_dim=7, num_shape=4, num_expression=1)
    assert (fewer.num_shape, fewer.num_expression) == (4, 1)
    default = load_flame(small.folder)  # fewer than 300 columns: all identity by default
    assert (default.num_shape, default.num_expression) == (10, 0)


def test_chumpy_and_plain_variants_give_identical_models(model, chumpy_style, tmp_path):
    other = load_flame(chumpy_style.folder)
    for name, buf in model.named_buffers():
        assert torch.equal(buf, dict(other.named_buffers())[name]), name
    assert {k: v.tolist() for k, v in model.regions.items()} == {k: v.tolist() for k, v in other.regions.items()}
    assert {k: v.tolist() for k, v in model.parts.items()} == {k: v.tolist() for k, v in other.parts.items()}
    inputs = random_inputs(model, 2, seed=1)
    assert torch.equal(model(**inputs).vertices, other(**inputs).vertices)
    write_model_pickle(tmp_path / "generic_model.pkl", chumpy_style.arrays, "python2")
    py2 = load_flame(tmp_path, uv_template=chumpy_style.folder / "head_template.obj")
    assert torch.equal(py2(**inputs).vertices, model(**inputs).vertices)


# ----------------------------------------------------------------------------------- model data
def test_metadata(model, plain, tmp_path):
    assert model.model_id == "flame" and model.license == FLAME_LICENSE
    digest = hashlib.sha256(plain.model.read_bytes()).hexdigest()
    assert model.source == f"generic_model.pkl sha256:{digest}"
    assert model.joint_names == ["global", "neck", "jaw", "eye_left", "eye_right"]
    assert model.joint_parents == [-1, 0, 1, 1, 1]
    assert model.num_vertices == len(plain.arrays["v_template"]) and model.num_shape == 300
    assert model.shape_names[:2] == ["shape000", "shape001"] and model.expression_names[99] == "expr099"
    assert len(model.landmark_names) == 68 and model.landmark_names[0] == "jaw_00"
    assert model.landmark_names[17] == "brow_right_0" and model.landmark_names[-1] == "lip_inner_7"
    assert torch.equal(model.faces, torch.as_tensor(plain.arrays["f"].astype(np.int64)))
    shutil.copy(plain.model, tmp_path / "flame2023_Open.pkl")
    assert load_flame(tmp_path, uv_template=plain.folder / "head_template.obj").license == FLAME_OPEN_LICENSE
    assert load_flame(plain.folder, license="studio licence #42").license == "studio licence #42"


def test_eye_pose_drives_left_then_right_eye(model):
    rest = model()
    left = model(eye_pose=torch.tensor([[[0.0, 0.4, 0.0], [0.0, 0.0, 0.0]]]))
    moved = (left.vertices - rest.vertices).norm(dim=-1)[0] > 1e-6
    eyeball = model.regions["eyeball_left"]
    assert set(moved.nonzero().flatten().tolist()) <= set(eyeball.tolist())  # only the left eyeball moves
    assert int(moved.sum()) > 0.9 * len(eyeball)  # all but the points on the rotation axis
    assert float(model.skin_weights[model.regions["eyeball_left"], 3].min()) == 1.0
    right = model(eye_pose=torch.tensor([[[0.0, 0.0, 0.0], [0.3, 0.0, 0.0]]]))
    moved = (right.vertices - rest.vertices).norm(dim=-1)[0] > 1e-6
    assert set(moved.nonzero().flatten().tolist()) <= set(model.regions["eyeball_right"].tolist())
    assert float(rest.joints[0, 3, 0]) > 0 > float(rest.joints[0, 4, 0])  # subject's left eye at +X


def test_regions_from_masks_and_from_geometry(model, plain):
    regions = model.regions
    for key, idx in plain.masks.items():
        side = next((s for s in ("left", "right") if key.startswith(s + "_")), None)
        name = f"{key[len(side) + 1:]}_{side}" if side else key
        assert regions[name].tolist() == sorted(idx.tolist()), key
    assert set(regions["ears"].tolist()) == set(plain.masks["left_ear"]) | set(plain.masks["right_ear"])
    geometric = load_flame(plain.folder, masks=False)
    expected = {"face", "scalp", "ears", "neck", "lips", "eyelids", "nose", "forehead", "jaw",
                "eyeball_left", "eyeball_right", "ear_left", "ear_right"}
    assert expected <= set(geometric.regions)
    for name in expected:
        idx = geometric.regions[name]
        assert len(idx) > 0 and int(idx.max()) < model.num_vertices, name
    face, neck = set(geometric.regions["face"].tolist()), set(geometric.regions["neck"].tolist())
    assert not face & neck and set(geometric.regions["nose"].tolist()) <= face


def test_parts_partition_the_faces(model):
    parts = model.parts
    assert set(parts) == {"skin", "eye_left", "eye_right"}
    allf = torch.cat(list(parts.values())).sort().values
    assert torch.equal(allf, torch.arange(len(model.faces)))
    eye = model.faces[parts["eye_left"]].flatten().unique()
    assert torch.equal(eye, model.regions["eyeball_left"])


# ----------------------------------------------------------------------------------- UVs and landmarks
def test_uv_template_and_shuffled_obj(model, plain, tmp_path):
    vt, uv_faces = plain.uv
    assert torch.allclose(model.uvs[model.uv_faces], torch.as_tensor(vt[uv_faces], dtype=torch.float32))
    assert model.uvs.shape[0] > model.num_vertices  # the seam duplicates coordinates
    faces = plain.arrays["f"].astype(np.int64)
    write_obj(tmp_path / "shuffled.obj", plain.arrays["v_template"], vt, faces, uv_faces, shuffle_seed=3)
    shuffled = load_flame(plain.folder, uv_template=tmp_path / "shuffled.obj")
    assert torch.equal(shuffled.uvs[shuffled.uv_faces], model.uvs[model.uv_faces])
    write_obj(tmp_path / "short.obj", plain.arrays["v_template"], vt, faces[:-1], uv_faces[:-1])
    with pytest.raises(ValueError, match="uv_template: short.obj has 1919 triangles, the model has 1920"):
        load_flame(plain.folder, uv_template=tmp_path / "short.obj")
    (tmp_path / "quad.obj").write_text("v 0 0 0\nvt 0 0\nf 1/1 1/1 1/1 1/1\n")
    with pytest.raises(ValueError, match="quad.obj line 3: expected a triangle"):
        load_flame(plain.folder, uv_template=tmp_path / "quad.obj")
    with pytest.raises(ValueError, match="uv_template: .* is not a file"):
        load_flame(plain.folder, uv_template=tmp_path / "missing.obj")


def test_xatlas_fallback_is_deterministic(small):
    first = load_flame(small.folder, shape_space_dim=7)
    second = load_flame(small.folder, shape_space_dim=7)
    assert first.uv_faces.shape == first.faces.shape
    assert float(first.uvs.min()) >= 0.0 and float(first.uvs.max()) <= 1.0
    assert torch.equal(first.uvs, second.uvs) and torch.equal(first.uv_faces, second.uv_faces)
    assert int(first.uv_faces.max()) == first.uvs.shape[0] - 1


def test_landmark_variants(plain, small, tmp_path):
    none = load_flame(small.folder, shape_space_dim=7, landmarks=False)
    assert none().landmarks is None and none.landmark_names is None
    folder = tmp_path / "static"
    folder.mkdir()
    shutil.copy(plain.model, folder / "generic_model.pkl")
    shutil.copy(plain.folder / "flame_static_embedding.pkl", folder)
    only51 = load_flame(folder, uv_template=plain.folder / "head_template.obj")
    assert only51().landmarks.shape == (1, 51, 3) and only51.landmark_names[0] == "brow_right_0"
    (folder / "flame_static_embedding.pkl").unlink()
    assert load_flame(folder, uv_template=plain.folder / "head_template.obj")().landmarks is None
    write_deca_embedding(folder / "landmark_embedding.npy", plain.static, plain.dynamic)
    deca = load_flame(folder, uv_template=plain.folder / "head_template.obj")
    reference = load_flame(plain.folder)
    inputs = random_inputs(reference, 4, seed=7)
    assert torch.equal(deca(**inputs).landmarks, reference(**inputs).landmarks)


def test_bad_landmark_file(plain, tmp_path):
    bad = tmp_path / "emb.pkl"
    bad.write_bytes(pickle.dumps({"lmk_face_idx": np.array([0, 1]), "lmk_b_coords": np.ones((3, 3))}))
    with pytest.raises(ValueError, match="emb.pkl: key 'lmk_b_coords': expected shape \\[2, 3\\]"):
        load_flame(plain.folder, landmark_embedding=bad)
    bad.write_bytes(pickle.dumps({"lmk_face_idx": np.array([0, 10**6]), "lmk_b_coords": np.ones((2, 3))}))
    with pytest.raises(ValueError, match="emb.pkl: key 'lmk_face_idx': face indices must lie in"):
        load_flame(plain.folder, landmark_embedding=bad)
    bad.write_bytes(pickle.dumps({"lmk_b_coords": np.ones((2, 3))}))
    with pytest.raises(ValueError, match="emb.pkl: missing key 'lmk_face_idx'"):
        load_flame(plain.folder, landmark_embedding=bad)


# ----------------------------------------------------------------------------------- dtype, device, inputs
def test_float64_and_to(model, plain):
    m64 = load_flame(plain.folder, dtype=torch.float64)
    inputs = random_inputs(m64, 3, seed=2)
    ref = m64(**inputs)
    moved = load_flame(plain.folder).to(torch.float64)
    assert moved.dtype == torch.float64 and moved.landmark_table_weights.dtype == torch.float64
    out = moved(**inputs)
    assert max_err(out.vertices, ref.vertices) < 1e-6 and max_err(out.landmarks, ref.landmarks) < 1e-6
    assert moved.landmark_table_index.dtype == torch.long and moved.regions["face"].dtype == torch.long
    out32 = model(**{k: v.float() for k, v in inputs.items()})
    assert out32.vertices.dtype == torch.float32 and max_err(out32.vertices, ref.vertices) < 1e-5
    with pytest.raises(ValueError, match="dtype"):
        load_flame(plain.folder, dtype=torch.float16)


def test_forward_input_validation(model):
    with pytest.raises(ValueError, match="expression: batch size 3 disagrees with shape \\(2\\)"):
        model(shape=torch.zeros(2, 300), expression=torch.zeros(3, 100))
    with pytest.raises(ValueError, match="jaw_pose: expected dtype torch.float32"):
        model(jaw_pose=torch.zeros(1, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="expression: contains NaN"):
        model(expression=torch.full((1, 100), float("nan")))
    with pytest.raises(ValueError, match="shape: expected shape \\[B, 300\\]"):
        model(shape=torch.zeros(1, 299))
    shape = torch.zeros(2, 300, requires_grad=True)
    model(shape=shape).vertices.sum().backward()
    assert shape.grad is not None and torch.isfinite(shape.grad).all()


# ----------------------------------------------------------------------------------- files and options
def test_folder_resolution(plain, tmp_path):
    assert load_flame(plain.folder).source.startswith("generic_model.pkl")
    folder = tmp_path / "flame2020"
    folder.mkdir()
    for name in ("generic_model.pkl", "female_model.pkl", "male_model.pkl"):
        shutil.copy(plain.model, folder / name)
    assert load_flame(folder, uv_template=False).source.startswith("generic_model.pkl")
    (folder / "generic_model.pkl").unlink()
    with pytest.raises(ValueError, match="several model .pkl.*female_model.pkl.*male_model.pkl.*accepted"):
        load_flame(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "flame_static_embedding.pkl").write_bytes(b"")
    with pytest.raises(ValueError, match="holds no model .pkl.*flame_static_embedding.pkl.*accepted: a FLAME .pkl"):
        load_flame(empty)
    (tmp_path / "model.npz").write_bytes(b"")
    with pytest.raises(ValueError, match="is not a .pkl file; accepted"):
        load_flame(tmp_path / "model.npz")


def test_heads_load_dispatch_and_errors(plain):
    model = assetgen.heads.load(plain.folder, dtype=torch.float64, num_expression=5)
    assert isinstance(model, FlameHead) and model.dtype == torch.float64 and model.num_expression == 5
    with pytest.raises(ValueError, match="'nonexistent' is neither 'open' nor an existing path; accepted: .*FLAME"):
        assetgen.heads.load("nonexistent")
    with pytest.raises(ValueError, match="unknown FLAME option.*'bogus'.*accepted: num_shape"):
        assetgen.heads.load(plain.folder, bogus=1)
    with pytest.raises(ValueError, match="num_shape: expected an int in \\[0, 300\\], got 301"):
        load_flame(plain.folder, num_shape=301)
    with pytest.raises(ValueError, match="contour_chain"):
        load_flame(plain.folder, contour_chain="spine")


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda a: a.pop("posedirs"), "missing key\\(s\\) \\['posedirs'\\]"),
        (lambda a: a.update(posedirs=a["posedirs"][:, :, :35]), "key 'posedirs': expected shape \\[.*, 3, 36\\]"),
        (lambda a: a.update(weights=a["weights"][:-1]), "key 'weights': expected shape"),
        (lambda a: a.update(shapedirs=a["shapedirs"][:-1]), "key 'shapedirs': expected shape"),
        (lambda a: a.update(J_regressor=a["J_regressor"][:4]), "key 'J_regressor': expected shape \\[5, "),
        (lambda a: a.update(f=a["f"].astype(np.int64) + 10**6), "key 'f': vertex indices must lie in"),
        (lambda a: a.update(kintree_table=a["kintree_table"][:, :4]), "key 'kintree_table': expected FLAME's 5"),
        (lambda a: a.update(v_template=a["v_template"] * np.nan), "key 'v_template' contains NaN"),
        (lambda a: a.update(shapedirs="nonsense"), "key 'shapedirs': expected a numeric array"),
    ],
)
def test_wrong_layout_names_the_key(small, tmp_path, edit, match):
    arrays = dict(small.arrays)
    edit(arrays)
    write_model_pickle(tmp_path / "generic_model.pkl", arrays)
    with pytest.raises(ValueError, match="generic_model.pkl: " + match):
        load_flame(tmp_path, uv_template=False, landmarks=False)


def test_corrupt_file_then_good_file(small, tmp_path):
    path = tmp_path / "generic_model.pkl"
    data = small.model.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="generic_model.pkl: corrupt or truncated"):
        load_flame(path, shape_space_dim=7, landmarks=False)
    path.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(ValueError, match="expected a dict of FLAME arrays, got list"):
        load_flame(path)
    path.write_bytes(data)  # nothing from the failed loads is cached
    assert load_flame(path, shape_space_dim=7, landmarks=False).num_expression == 3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (run on the GPU test machine)")
def test_cuda_matches_cpu(plain):
    cpu_model = load_flame(plain.folder)
    gpu_model = load_flame(plain.folder, device="cuda")
    inputs = random_inputs(cpu_model, 17, seed=5)
    cpu = cpu_model(**inputs)
    gpu = gpu_model(**{k: v.cuda() for k, v in inputs.items()})
    assert max_err(gpu.vertices.cpu(), cpu.vertices) <= 1e-5
    assert max_err(gpu.landmarks.cpu(), cpu.landmarks) <= 1e-5
