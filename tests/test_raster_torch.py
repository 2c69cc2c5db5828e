"""The plain-torch rasterizer: nvdiffrast's contract, checked on scenes with known answers."""

import torch

from assetgen.render.raster_torch import interpolate, rasterize_torch


def _pix_ndc(i, n):
    return (i + 0.5) / n * 2 - 1


def test_triangle_coverage_barycentrics_depth_exact():
    h = w = 16
    clip = torch.tensor([[[-1.0, -1.0, 0.5, 1.0], [1.0, -1.0, 0.5, 1.0], [-1.0, 1.0, 0.5, 1.0]]])
    faces = torch.tensor([[0, 1, 2]])
    rast = rasterize_torch(clip, faces, (h, w))
    assert rast.shape == (1, h, w, 4)
    cov = rast[0, ..., 3] > 0
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    x, y = _pix_ndc(xs.double(), w), _pix_ndc(ys.double(), h)
    inside = (x + y) <= 0  # lower-left half-plane, row 0 = NDC y = -1
    assert torch.equal(cov, inside)
    # barycentrics: u = weight of v0, v = weight of v1 (affine for w = 1)
    u_exp = -(x + y) / 2
    v_exp = (x + 1) / 2
    assert torch.allclose(rast[0, ..., 0][cov].double(), u_exp[cov], atol=1e-6)
    assert torch.allclose(rast[0, ..., 1][cov].double(), v_exp[cov], atol=1e-6)
    assert torch.allclose(rast[0, ..., 2][cov], torch.full_like(rast[0, ..., 2][cov], 0.5))
    assert (rast[0][~cov] == 0).all()


def test_depth_test_two_overlapping_triangles_and_ties():
    quad = [[-1.0, -1.0], [3.0, -1.0], [-1.0, 3.0]]  # covers the whole viewport
    near = [[x, y, -0.2, 1.0] for x, y in quad]
    far = [[x, y, 0.3, 1.0] for x, y in quad]
    clip = torch.tensor([far + near])
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    rast = rasterize_torch(clip, faces, (8, 8))
    assert (rast[0, ..., 3] == 2).all()  # the nearer triangle (id 1, stored + 1) wins everywhere
    assert torch.allclose(rast[0, ..., 2], torch.full((8, 8), -0.2))
    tie = rasterize_torch(torch.tensor([near + near]), faces, (8, 8))
    assert (tie[0, ..., 3] == 1).all()  # equal depth: lower triangle id wins


def test_both_windings_and_perspective_correct_interpolation():
    a = torch.tensor([[[-0.9, -0.9, 0.0, 1.0], [0.9, -0.9, 0.0, 1.0], [0.0, 0.9, 0.0, 1.0]]])
    ccw = rasterize_torch(a, torch.tensor([[0, 1, 2]]), (32, 32))
    cw = rasterize_torch(a, torch.tensor([[0, 2, 1]]), (32, 32))
    assert torch.equal(ccw[..., 3] > 0, cw[..., 3] > 0) and int((ccw[..., 3] > 0).sum()) > 100
    # perspective: scale one vertex's clip coords by w; the image is the same but attributes interpolate in 3D
    b = a.clone()
    b[0, 2] *= 3.0
    rb = rasterize_torch(b, torch.tensor([[0, 1, 2]]), (32, 32))
    assert torch.equal(rb[..., 3] > 0, ccw[..., 3] > 0)
    attr = torch.tensor([[1.0], [0.0], [0.0]])
    flat, persp = interpolate(attr, ccw, torch.tensor([[0, 1, 2]])), interpolate(attr, rb, torch.tensor([[0, 1, 2]]))
    cov = ccw[..., 3] > 0
    # with 1/w weighting, vertex 2 (w = 3) pulls less: u = l0 / (l0 + l1 + l2 / 3) >= l0
    assert (persp[cov] >= flat[cov] - 1e-6).all() and (persp[cov] > flat[cov] + 1e-3).any()


def test_deterministic_batched_and_behind_camera():
    g = torch.Generator().manual_seed(0)
    clip = torch.cat([torch.rand(2, 30, 3, generator=g) * 2 - 1, torch.ones(2, 30, 1)], -1)
    clip[..., 2] *= 0.9
    faces = torch.randint(0, 30, (40, 3), generator=g)
    r1 = rasterize_torch(clip, faces, (24, 20))
    r2 = rasterize_torch(clip, faces, (24, 20))
    assert torch.equal(r1, r2)
    assert torch.equal(r1[1], rasterize_torch(clip[1:], faces, (24, 20))[0])  # batch items are independent
    behind = clip.clone()
    behind[..., 3] = -1.0
    assert (rasterize_torch(behind, faces, (24, 20)) == 0).all()


def test_interpolate_zero_on_background():
    clip = torch.tensor([[[-0.5, -0.5, 0.0, 1.0], [0.5, -0.5, 0.0, 1.0], [0.0, 0.5, 0.0, 1.0]]])
    faces = torch.tensor([[0, 1, 2]])
    rast = rasterize_torch(clip, faces, (16, 16))
    out = interpolate(torch.ones(3, 2), rast, faces)
    cov = rast[..., 3] > 0
    assert torch.allclose(out[cov], torch.ones_like(out[cov])) and (out[~cov] == 0).all()


def test_subpixel_snapping_matches_nvdiffrast_grid():
    # an edge 1/64 px left of pixel column 2's centre: exact coverage includes the centre, nvdiffrast's
    # 1/16-px snapping (round x_ndc · W · 8) moves the vertex onto the centre line (tie: covered), and 3/64 px
    # right of it exact coverage excludes the centre while the snapped edge still passes through it
    w = h = 8
    x_px = 2.5 - 1.0 / 64  # pixel-centre x of column 2 is 2.5 (NDC pixel units from the left edge)
    ndc = x_px / w * 2 - 1
    clip = torch.tensor([[[ndc, -1.0, 0.0, 1.0], [1.0, -1.0, 0.0, 1.0], [ndc, 1.0, 0.0, 1.0], [1.0, 1.0, 0.0, 1.0]]])
    faces = torch.tensor([[0, 1, 2], [2, 1, 3]])
    exact = rasterize_torch(clip, faces, (h, w))[0, ..., 3] > 0
    snapped = rasterize_torch(clip, faces, (h, w), subpixel_bits=4)[0, ..., 3] > 0
    assert exact[:, 2].all() and snapped[:, 2].all() and not exact[:, 1].any()
    clip2 = clip.clone()
    clip2[0, [0, 2], 0] = (2.5 + 3.0 / 64) / w * 2 - 1  # snaps to 2.5 + 1/16
    assert not (rasterize_torch(clip2, faces, (h, w))[0, :, 2, 3] > 0).any()
    assert not (rasterize_torch(clip2, faces, (h, w), subpixel_bits=4)[0, :, 2, 3] > 0).any()
    clip3 = clip.clone()
    clip3[0, [0, 2], 0] = (2.5 + 1.0 / 64) / w * 2 - 1  # exact: centre outside; snapped onto it: covered
    assert not (rasterize_torch(clip3, faces, (h, w))[0, :, 2, 3] > 0).any()
    assert (rasterize_torch(clip3, faces, (h, w), subpixel_bits=4)[0, :, 2, 3] > 0).all()
    # barycentrics come from the unsnapped triangle, clamped to [0, 1] like nvdiffrast's
    r = rasterize_torch(clip3, faces, (h, w), subpixel_bits=4)
    assert float(r[0, 0, 2, 0:2].min()) == 0.0 and float(r[0, 0, 2, 0:2].max()) <= 1.0
