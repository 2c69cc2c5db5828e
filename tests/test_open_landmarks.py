"""The open head's 68-point iBUG landmark embedding: on the skin, symmetric, in iBUG order, and moving with
the mesh."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import assetgen.heads as heads
from assetgen.heads import compile_open
from assetgen.heads.lbs import barycentric_points
from assetgen.heads.open_landmarks import IBUG68_MIRROR, define_landmarks, landmark_names

JAW, BROW_R, BROW_L = range(0, 17), range(17, 22), range(22, 27)
BRIDGE, NOSE_LOW = range(27, 31), range(31, 36)
EYE_R, EYE_L = range(36, 42), range(42, 48)
LIP_OUT, LIP_IN = range(48, 60), range(60, 68)
MIDLINE = [8, 27, 28, 29, 30, 33, 51, 57, 62, 66]


@pytest.fixture(scope="module")
def model():
    return heads.load("open", dtype=torch.float64)


@pytest.fixture(scope="module")
def neutral(model):
    """Landmarks ``[68, 3]`` of the default (shape 0, expression 0) head, as numpy."""
    return model().landmarks[0].numpy()


def test_embedding_on_the_skin(model):
    faces, bary = model.landmark_faces, model.landmark_bary
    assert faces.shape == (68, 3) and bary.shape == (68, 3) and faces.dtype == torch.long
    assert bool((bary >= 0).all()) and bool((bary <= 1).all())
    assert torch.allclose(bary.sum(1), torch.ones(68, dtype=bary.dtype), atol=1e-6)
    skin = {tuple(sorted(f)) for f in model.faces[model.parts["skin"]].tolist()}
    assert all(tuple(sorted(f)) in skin for f in faces.tolist())


def test_names(model):
    names = model.landmark_names
    assert names == landmark_names() and len(names) == 68 and len(set(names)) == 68
    assert names[0] == "jaw_00" and names[17] == "brow_right_0" and names[22] == "brow_left_0"
    assert names[27] == "nose_bridge_0" and names[31] == "nose_lower_0"
    assert names[36] == "eye_right_0" and names[42] == "eye_left_0"
    assert names[48] == "lip_outer_0" and names[60] == "lip_inner_0" and names[67] == "lip_inner_7"


def test_mirror_symmetry(neutral):
    mirror = IBUG68_MIRROR
    assert sorted(mirror.tolist()) == list(range(68)) and np.array_equal(mirror[mirror], np.arange(68))
    mirrored = neutral[mirror] * np.array([-1.0, 1.0, 1.0])
    assert np.abs(mirrored - neutral).max() < 0.002
    assert np.abs(neutral[MIDLINE, 0]).max() < 0.001


def test_ibug_order(neutral):
    p = neutral
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    # subject's right is −X: every right-side group sits at x < 0
    for group in (BROW_R, EYE_R):
        assert (x[list(group)] < 0).all()
    # jaw: from the right ear (−X) round the chin to the left (+X); 8 is the lowest point, on the midline
    jaw = list(JAW)
    assert x[0] < -0.04 and x[16] > 0.04 and (np.diff(x[jaw]) > 0).all()
    assert y[8] == y[jaw].min() and abs(x[8]) < 0.001 and (np.diff(y[:9]) < 0).all()
    assert y[0] > y[30]  # jaw 0 starts above the nose tip, near the eyes' height
    # brows: left-to-right in image space, above the eyes
    assert (np.diff(x[17:22]) > 0).all() and (np.diff(x[22:27]) > 0).all()
    assert y[list(BROW_R)].min() > y[list(EYE_R)].max() and y[list(BROW_L)].min() > y[list(EYE_L)].max()
    # nose: bridge from the nasion down to the tip, the tip the most forward nose point
    assert (np.diff(y[27:31]) < 0).all() and z[30] == z[27:36].max()
    assert (np.diff(x[31:36]) > 0).all() and y[33] < y[30] and y[33] == y[31:36].min()
    # eyes: corners are each eye's lateral extremes, upper lid above lower lid
    for eye, (outer, inner) in ((EYE_R, (36, 39)), (EYE_L, (45, 42))):
        e = list(eye)
        lateral, medial = (x[e].argmin(), x[e].argmax()) if outer == 36 else (x[e].argmax(), x[e].argmin())
        assert e[lateral] == outer and e[medial] == inner
    assert y[37] > y[41] and y[38] > y[40] and y[43] > y[47] and y[44] > y[46]
    assert x[36] < x[37] < x[38] < x[39] and x[42] < x[43] < x[44] < x[45]
    # outer lips: corners 48/54 are the lateral extremes; upper lip above, lower lip below the corners
    outer = list(LIP_OUT)
    assert outer[x[outer].argmin()] == 48 and outer[x[outer].argmax()] == 54
    assert (np.diff(x[48:55]) > 0).all() and (np.diff(x[54:60]) < 0).all()
    assert y[49:54].min() > max(y[48], y[54]) > y[55:60].max()
    assert y[51] < y[33]  # the lips are below the nose
    # inner lips: inside the outer contour in x, upper inner edge on or above the lower one, between the
    # outer upper and lower lips
    assert x[48] < x[60] < x[64] < x[54]
    assert (np.diff(x[60:65]) > 0).all() and x[65] > x[66] > x[67]
    assert y[61] >= y[67] and y[62] >= y[66] and y[63] >= y[65]
    assert y[50:53].min() > y[61:64].max() and y[65:68].min() > y[56:59].max()


def test_landmarks_follow_jaw_open(model, neutral):
    expression = torch.zeros(1, model.num_expression, dtype=torch.float64)
    expression[0, model.expression_names.index("jawOpen")] = 1.0
    opened = model(expression=expression).landmarks[0].numpy()
    dy = opened[:, 1] - neutral[:, 1]
    lower_lip_and_chin = [7, 8, 9, 56, 57, 58, 65, 66, 67]
    assert (dy[lower_lip_and_chin] < -0.005).all()
    assert np.abs(opened[list(EYE_R) + list(EYE_L) + list(BROW_R) + list(BROW_L)] - neutral[
        list(EYE_R) + list(EYE_L) + list(BROW_R) + list(BROW_L)]).max() < 1e-4
    # the mouth opens: the inner lips separate
    assert opened[62, 1] - opened[66, 1] > 0.02 > neutral[62, 1] - neutral[66, 1]


def test_output_landmarks_are_embedded_points(model):
    g = torch.Generator().manual_seed(3)
    low, high = model.shape_bounds()
    batch = 3
    shape = low + (high - low) * torch.rand(batch, model.num_shape, generator=g, dtype=torch.float64)
    shape[:, 6:] *= torch.rand(batch, model.num_shape - 6, generator=g, dtype=torch.float64) < 0.2
    out = model(shape=shape, expression=torch.rand(batch, 52, generator=g, dtype=torch.float64) * 0.7,
                global_orient=(torch.rand(batch, 3, generator=g, dtype=torch.float64) - 0.5) * 0.6,
                neck_pose=(torch.rand(batch, 3, generator=g, dtype=torch.float64) - 0.5) * 0.6,
                jaw_pose=(torch.rand(batch, 3, generator=g, dtype=torch.float64) - 0.5) * 0.3,
                translation=torch.rand(batch, 3, generator=g, dtype=torch.float64))
    assert out.landmarks.shape == (batch, 68, 3)
    tri = out.vertices[:, model.landmark_faces]  # [B, 68, 3, 3]
    expected = (tri * model.landmark_bary[None, :, :, None]).sum(2)
    assert torch.allclose(out.landmarks, expected, atol=1e-12)
    assert torch.allclose(barycentric_points(out.vertices, model.landmark_faces, model.landmark_bary), out.landmarks)
    m32 = heads.load("open")
    out32 = m32(shape=shape.float())
    assert out32.landmarks.dtype == torch.float32
    assert (out32.landmarks.double() - model(shape=shape).landmarks).abs().max() < 1e-5


def test_definition_reproduces_the_compiled_embedding(model):
    """define_landmarks on the default head (from the compiled file) gives the stored points again."""
    with np.load(compile_open.DEFAULT_PATH, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    regions = {k[7:]: v for k, v in arrays.items() if k.startswith("region:")}
    parts = {k[5:]: v for k, v in arrays.items() if k.startswith("part:")}
    verts = model().vertices[0].numpy()
    faces, bary, names = define_landmarks(verts, arrays["faces"], regions, parts, arrays["weights"],
                                          meta["names"]["joints"])
    assert faces.dtype == np.int64 and faces.shape == (68, 3) and names == meta["names"]["landmarks"]
    points = (bary[:, :, None] * verts[faces]).sum(1)
    stored = model().landmarks[0].numpy()
    assert np.abs(points - stored).max() < 1e-4
