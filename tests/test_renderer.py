"""The renderer on the CPU backend: golden portraits, buffers, masks, compositing, bad input.

Golden images live in ``tests/golden/render/``; ``ASSETGEN_UPDATE_GOLDEN=1`` rewrites them (then look at them
before committing). Tolerance: mean |Δ| < 1/255 and max |Δ| ≤ 6/255 per channel, robust to float noise
across torch versions, failing on real regressions.
"""

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import assetgen.heads as heads
from assetgen.render import (Camera, RenderMesh, contact_sheet, look_at, portrait_camera, render, render_portrait,
                             save_png)
from assetgen.render.synthetic import synthetic_texture_set

GOLDEN = Path(__file__).parent / "golden" / "render"
UPDATE = os.environ.get("ASSETGEN_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def head():
    model = heads.load("open")
    return model, model().vertices.detach(), RenderMesh.from_model(model)


def golden_portraits(model, vertices, mesh, backend="cpu"):
    """The scenes behind the golden images (shared with tests/test_backends.py)."""
    clay = render_portrait(model, vertices, yaw_deg=0.0, size=128, backend=backend, supersample=2, mesh=mesh)
    tex = render_portrait(model, vertices, synthetic_texture_set(128), yaw_deg=30.0, pitch_deg=5.0, size=128,
                          lighting="outdoor", backend=backend, supersample=2, mesh=mesh)
    return {"portrait_clay_128": clay, "portrait_textured_128": tex}


def rgba8(result) -> np.ndarray:
    data = torch.cat([result.image[0], result.alpha[0]], -1).detach().cpu().numpy()
    return np.clip(np.round(data * 255), 0, 255).astype(np.uint8)


def compare_golden(name: str, rgba: np.ndarray, *, mean_tol=1.0, max_tol=6.0, frac_over=0.0) -> None:
    path = GOLDEN / f"{name}.png"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"golden image {path} is missing; run with ASSETGEN_UPDATE_GOLDEN=1")
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgba, "RGBA").save(path)
    ref = np.asarray(Image.open(path).convert("RGBA")).astype(np.float64)
    diff = np.abs(rgba.astype(np.float64) - ref)
    assert diff.mean() < mean_tol, f"{name}: mean |Δ| {diff.mean():.3f}/255"
    over = float((diff.max(-1) > max_tol).mean())
    assert over <= frac_over, f"{name}: {over:.4%} of pixels differ by more than {max_tol}/255 (max {diff.max()})"


def test_golden_portraits_cpu(head):
    for name, result in golden_portraits(*head).items():
        assert result.backend == "cpu"
        compare_golden(name, rgba8(result))


def test_buffers_are_consistent(head):
    model, vertices, mesh = head
    res = render_portrait(model, vertices, size=96, backend="cpu", mesh=mesh)
    cov = res.triangle_id[0] >= 0
    assert res.image.shape == (1, 96, 96, 3) and res.alpha.shape == (1, 96, 96, 1)
    assert torch.equal(res.alpha[0, ..., 0] > 0, cov)  # no supersampling: alpha is binary coverage
    assert torch.isinf(res.depth[0][~cov]).all() and (res.image[0][~cov] == 0).all()
    assert (res.triangle_id[0][~cov] == -1).all() and (res.normals[0][~cov] == 0).all()
    n = res.normals[0][cov]
    assert torch.allclose(n.norm(dim=-1), torch.ones(n.shape[0]), atol=1e-4)
    cam = portrait_camera(vertices, size=96)
    vd = -cam.to_camera(vertices)[0, :, 2]
    d = res.depth[0][cov]
    assert float(d.min()) >= float(vd.min()) - 1e-4 and float(d.max()) <= float(vd.max()) + 1e-4
    # unprojecting the depth buffer lands on the triangle the id buffer names
    rows, cols = cov.nonzero(as_tuple=True)
    pix = torch.stack([cols + 0.5, rows + 0.5], -1).float()[None]
    pts = cam.unproject(pix, d[None])[0]
    tri = vertices[0][model.faces[res.triangle_id[0][cov]]]  # [K, 3, 3]
    fn = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=-1)
    fn = fn / fn.norm(dim=-1, keepdim=True)
    dist = ((pts - tri[:, 0]) * fn).sum(-1).abs()
    assert float(dist.median()) < 1e-5 and float(dist.max()) < 1e-3
    # the face looks at a frontal camera: normals point toward +Z on most covered pixels
    assert float((n[:, 2] > 0).float().mean()) > 0.8


def test_masks_match_parts_and_regions(head):
    model, vertices, mesh = head
    res = render_portrait(model, vertices, yaw_deg=20, size=96, backend="cpu", mesh=mesh)
    tri = res.triangle_id[0]
    assert set(model.parts) | set(model.regions) == set(res.masks)
    union = torch.zeros_like(tri, dtype=torch.bool)
    for name, faces in model.parts.items():
        in_part = torch.zeros(model.faces.shape[0] + 1, dtype=torch.bool)
        in_part[faces] = True
        assert torch.equal(res.masks[name][0], in_part[tri.clamp_min(0)] & (tri >= 0)), name
        union |= res.masks[name][0]
    assert torch.equal(union, tri >= 0)  # the parts tile the head
    assert int(res.masks["face"][0].sum()) > 0.2 * int((tri >= 0).sum())
    assert res.masks["eye_left"][0].any() and res.masks["eye_right"][0].any()


def test_supersampling_antialiases_and_background(head):
    model, vertices, mesh = head
    res = render_portrait(model, vertices, size=64, backend="cpu", supersample=4, mesh=mesh, background=(1, 1, 1))
    a = res.alpha[0, ..., 0]
    assert ((a > 0) & (a < 1)).any()  # fractional edge coverage
    assert torch.allclose(res.image[0][a == 0], torch.ones(3))  # white background
    single = render_portrait(model, vertices, size=64, backend="cpu", mesh=mesh)
    assert float((res.alpha - single.alpha).abs().mean()) < 0.02


def test_batch_and_turntable_match_single_renders(head):
    model, vertices, mesh = head
    both = render_portrait(model, vertices, yaw_deg=[0.0, 90.0], size=48, backend="cpu", mesh=mesh)
    one = render_portrait(model, vertices, yaw_deg=90.0, size=48, backend="cpu", mesh=mesh)
    assert torch.allclose(both.image[1], one.image[0], atol=1e-5)
    assert torch.equal(both.triangle_id[1], one.triangle_id[0])
    # a preset follows the camera: the side view is lit like the front view (similar mean brightness)
    m0 = both.image[0][both.alpha[0, ..., 0] > 0].mean()
    m1 = both.image[1][both.alpha[1, ..., 0] > 0].mean()
    assert abs(float(m0 - m1)) < 0.12


def test_flat_normal_map_changes_nothing(head):
    model, vertices, mesh = head
    ts = synthetic_texture_set(64)
    flat = np.zeros_like(ts.normal)
    flat[...] = (128, 128, 255)
    tex = torch.from_numpy(ts.albedo)
    orm = torch.from_numpy(ts.orm)
    from assetgen.render import MaterialMaps

    with_map = MaterialMaps.from_tensors(tex, torch.from_numpy(flat), orm)
    without = MaterialMaps.from_tensors(tex, None, orm)
    cam = portrait_camera(vertices, size=64)
    a = render(vertices, mesh, cam, textures=with_map, backend="cpu", outputs=("image",)).image
    b = render(vertices, mesh, cam, textures=without, backend="cpu", outputs=("image",)).image
    assert float((a - b).abs().max()) < 0.02
    bumpy = render(vertices, mesh, cam, textures=synthetic_texture_set(64), backend="cpu", outputs=("image",)).image
    assert float((bumpy - a).abs().mean()) > 1e-3  # the real normal map does change the shading


def test_outputs_subset_and_explicit_mesh(head):
    model, vertices, _ = head
    mesh = RenderMesh.build(model.faces)  # no UVs, parts or regions
    cam = Camera.from_fov(look_at(torch.tensor([0.0, 0.12, 0.8]), torch.tensor([0.0, 0.12, 0.0])), fov_y_deg=25,
                          width=40, height=30)
    res = render(vertices[0], mesh, cam, backend="cpu", outputs=("depth", "mask"), lighting=torch.zeros(27))
    assert res.image is None and res.alpha is None and res.depth.shape == (1, 30, 40) and res.masks == {}


def test_save_png_and_contact_sheet(tmp_path, head):
    model, vertices, mesh = head
    res = render_portrait(model, vertices, yaw_deg=[0, 120, 240], size=32, backend="cpu", mesh=mesh)
    path = save_png(res.image[0], res.alpha[0], tmp_path / "p.png")
    back = np.asarray(Image.open(path))
    assert back.shape == (32, 32, 4) and back.dtype == np.uint8
    assert np.array_equal(back[..., 3] > 0, res.alpha[0, ..., 0].numpy() > 0)
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]  # no temporary file left behind
    sheet = contact_sheet(res.image, 2, alpha=res.alpha, pad=2)
    assert sheet.shape == (66, 66, 3) and sheet.dtype == np.uint8 and (sheet[-1, -1] == 255).all()


def test_bad_inputs(head):
    model, vertices, mesh = head
    cam = portrait_camera(vertices, size=16)
    bad = vertices.clone()
    bad[0, 5, 1] = math.nan
    with pytest.raises(ValueError, match="vertices: contain NaN"):
        render(bad, mesh, cam, backend="cpu")
    with pytest.raises(ValueError, match="unknown backend"):
        render(vertices, mesh, cam, backend="metal")
    with pytest.raises(ValueError, match="supersample"):
        render(vertices, mesh, cam, backend="cpu", supersample=3)
    with pytest.raises(ValueError, match="outputs"):
        render(vertices, mesh, cam, backend="cpu", outputs=("image", "albedo"))
    with pytest.raises(ValueError, match="raster cap"):
        render(vertices, mesh, portrait_camera(vertices, size=4096), backend="cpu", supersample=4)
    with pytest.raises(ValueError, match="width"):
        portrait_camera(vertices, size=0)
    with pytest.raises(ValueError, match="unknown preset"):
        render(vertices, mesh, cam, backend="cpu", lighting="disco")
    with pytest.raises(ValueError, match="vertices"):
        render(vertices[..., :2], mesh, cam, backend="cpu")
    with pytest.raises(ValueError, match="textures"):
        render(vertices, mesh, cam, backend="cpu", textures="skin.png")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="cuda"):
            render(vertices, mesh, cam, backend="cuda")
