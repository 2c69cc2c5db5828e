"""Backends: selection, the torch texture lookup, and (on CUDA) nvdiffrast vs the CPU backend on one scene.

CUDA tests skip without a GPU; run them on the GPU machine (they print the agreement figures).
"""

import pytest
import torch

import assetgen.heads as heads
from assetgen.render import RenderMesh, get_backend, portrait_camera, render, render_portrait
from assetgen.render.backends import TorchBackend, texture_torch
from assetgen.render.raster_torch import interpolate as interpolate_torch
from assetgen.render.synthetic import synthetic_texture_set

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU and nvdiffrast (run on the GPU machine)")


def test_get_backend_names():
    assert isinstance(get_backend("cpu"), TorchBackend) and get_backend("cpu") is get_backend("cpu")
    assert get_backend("auto").name == ("cuda" if CUDA else "cpu")
    with pytest.raises(ValueError, match="unknown backend"):
        get_backend("vulkan")
    with pytest.raises(ValueError, match="backend"):
        get_backend(3)


@pytest.mark.skipif(CUDA, reason="checks the error raised without CUDA")
def test_forced_cuda_without_gpu_names_the_cause():
    with pytest.raises(RuntimeError, match="backend 'cuda' is unavailable: torch sees no CUDA device"):
        get_backend("cuda")


def test_texture_torch_hits_texel_centres_and_boundaries():
    g = torch.Generator().manual_seed(0)
    tex = torch.rand(1, 4, 6, 2, generator=g)
    r, c = torch.meshgrid(torch.arange(4), torch.arange(6), indexing="ij")
    uv = torch.stack([(c + 0.5) / 6, (r + 0.5) / 4], -1)[None].float()
    assert torch.allclose(texture_torch(tex, uv), tex, atol=1e-6)
    # halfway between two texels: their mean
    mid = texture_torch(tex, torch.tensor([[[[1.0 / 6, 0.5 / 4]]]]))
    assert torch.allclose(mid[0, 0, 0], 0.5 * (tex[0, 0, 0] + tex[0, 0, 1]), atol=1e-6)
    edge = torch.tensor([[[[0.0, 0.5 / 4]]]])  # u = 0: clamp gives texel 0, wrap blends the last and first
    assert torch.allclose(texture_torch(tex, edge, "clamp")[0, 0, 0], tex[0, 0, 0], atol=1e-6)
    assert torch.allclose(texture_torch(tex, edge, "wrap")[0, 0, 0], 0.5 * (tex[0, 0, 0] + tex[0, 0, 5]), atol=1e-6)
    assert torch.allclose(texture_torch(tex, uv + 1.0, "wrap"), tex, atol=1e-5)
    batch = texture_torch(tex, uv.expand(3, -1, -1, -1))  # one texture, three uv maps
    assert batch.shape == (3, 4, 6, 2) and torch.allclose(batch[2], tex[0], atol=1e-6)
    with pytest.raises(ValueError, match="boundary"):
        texture_torch(tex, uv, "mirror")


# ---------------------------------------------------------------------------------------------- CUDA
@pytest.fixture(scope="module")
def scene():
    model = heads.load("open")
    vertices = model().vertices.detach()
    return model, vertices, RenderMesh.from_model(model)


def _rast_both(vertices, mesh, size=512, yaw=(0.0, 35.0, -70.0)):
    cam = portrait_camera(vertices, yaw_deg=list(yaw), pitch_deg=5.0, size=size)
    pos = vertices[:, mesh.split.vertex_index].expand(cam.batch_size, -1, -1)
    clip = cam.to_clip(pos)
    faces = mesh.render_faces
    cpu = get_backend("cpu").rasterize(clip, faces, (size, size))
    gpu = get_backend("cuda").rasterize(clip.cuda(), faces.cuda(), (size, size)).cpu()
    return cpu, gpu, pos, faces


@needs_cuda
def test_cuda_rasterize_agrees_with_cpu(scene):
    _, vertices, mesh = scene
    cpu, gpu, pos, faces = _rast_both(vertices, mesh)
    tc, tg = cpu[..., 3].long(), gpu[..., 3].long()
    either = (tc > 0) | (tg > 0)
    same = (tc == tg) & either
    agree = float(same.sum()) / float(either.sum())
    both = (tc > 0) & (tg > 0) & same
    duv = float((cpu[..., :2] - gpu[..., :2])[both].abs().max())
    dz = float((cpu[..., 2] - gpu[..., 2])[both].abs().max())
    silhouette = float(((tc > 0) != (tg > 0)).sum()) / float(either.sum())
    print(f"\nAGREEMENT raster: triangle ids equal on {agree:.5%} of {int(either.sum())} covered pixels "
          f"(coverage differs on {silhouette:.5%}); max |Δuv| {duv:.2e}, max |Δz/w| {dz:.2e}")
    assert agree >= 0.995
    assert duv < 1e-3 and dz < 1e-4
    # interpolate: nvdiffrast's vs the torch one on nvdiffrast's own raster
    attr = pos.cuda()
    cam = portrait_camera(vertices, yaw_deg=[0.0, 35.0, -70.0], pitch_deg=5.0, size=512).to("cuda")
    rast = get_backend("cuda").rasterize(cam.to_clip(attr), faces.cuda(), (512, 512))
    a = get_backend("cuda").interpolate(attr, rast, faces.cuda())
    b = interpolate_torch(attr, rast, faces.cuda())
    dint = float((a - b).abs().max())
    print(f"AGREEMENT interpolate: max |Δ| {dint:.2e} m")
    assert dint < 1e-5


@needs_cuda
def test_cuda_texture_agrees_with_torch():
    g = torch.Generator().manual_seed(1)
    tex = torch.rand(1, 37, 53, 4, generator=g).cuda()
    uv = (torch.rand(2, 64, 64, 2, generator=g) * 1.4 - 0.2).cuda()
    for boundary in ("clamp", "wrap"):
        a = get_backend("cuda").texture(tex, uv, boundary)
        b = texture_torch(tex, uv, boundary)
        d = float((a - b).abs().max())
        print(f"\nAGREEMENT texture[{boundary}]: max |Δ| {d:.2e}")
        assert d < 1e-4


@needs_cuda
def test_cuda_render_agrees_with_cpu(scene):
    model, vertices, mesh = scene
    ts = synthetic_texture_set(256)
    for ss in (1, 2):
        kw = dict(yaw_deg=[0.0, 40.0], size=256, supersample=ss, mesh=mesh)
        a = render_portrait(model, vertices, ts, backend="cuda", **kw)
        b = render_portrait(model, vertices, ts, backend="cpu", **kw)
        assert a.backend == "cuda" and b.backend == "cpu"
        same = (a.triangle_id.cpu() == b.triangle_id) & (b.triangle_id >= 0)
        di = (a.image.cpu() - b.image).abs()
        mean, p_over = float(di.mean()), float((di.amax(-1) > 4 / 255).float().mean())
        on_same = float(di[same].max())
        dd = float((a.depth.cpu() - b.depth)[same].abs().max())
        print(f"\nAGREEMENT render ss={ss}: image mean |Δ| {mean * 255:.3f}/255, pixels over 4/255 {p_over:.4%}, "
              f"max |Δ| on same-triangle pixels {on_same * 255:.2f}/255, max |Δdepth| {dd:.2e} m, "
              f"alpha mean |Δ| {float((a.alpha.cpu() - b.alpha).abs().mean()):.2e}")
        assert mean < 0.5 / 255 and p_over < 0.005 and dd < 1e-4
        if ss == 1:  # with supersampling a pixel blends sub-samples whose triangles may differ
            assert on_same < 2 / 255
        for name in b.masks:
            assert float((a.masks[name].cpu() != b.masks[name]).float().mean()) < 0.005


@needs_cuda
def test_cuda_matches_cpu_golden(scene):
    from test_renderer import compare_golden, golden_portraits, rgba8

    for name, result in golden_portraits(*scene, backend="cuda").items():
        assert result.backend == "cuda"
        compare_golden(name, rgba8(result), mean_tol=1.0, max_tol=6.0, frac_over=0.01)


@needs_cuda
def test_cuda_is_differentiable(scene):
    model, vertices, mesh = scene
    v = vertices.cuda().clone().requires_grad_(True)
    cam = portrait_camera(vertices, size=64).to("cuda")
    res = render(v, mesh, cam, backend="cuda", outputs=("image",))
    res.image.mean().backward()
    assert v.grad is not None and torch.isfinite(v.grad).all() and float(v.grad.abs().sum()) > 0


def test_auto_falls_back_to_cpu_when_cuda_cannot_start(monkeypatch):
    import assetgen.render.backends as backends

    monkeypatch.setattr(backends, "cuda_unavailable_reason", lambda: None)  # pretend a GPU is there

    class Broken:
        name = "cuda"

        @property
        def context(self):
            raise RuntimeError("backend 'cuda': nvdiffrast could not build or load its CUDA plugin (no nvcc)")

    real = backends.get_backend
    monkeypatch.setattr(backends, "get_backend",
                        lambda name="auto", device=None: Broken() if name == "cuda" else real(name, device))
    assert real("auto").name == "cpu"


def test_cpu_render_is_differentiable_in_vertices(scene):
    model, vertices, mesh = scene
    v = vertices.clone().requires_grad_(True)
    res = render(v, mesh, portrait_camera(vertices, size=48), backend="cpu", outputs=("image",))
    res.image.mean().backward()
    assert torch.isfinite(v.grad).all() and float(v.grad.abs().sum()) > 0
