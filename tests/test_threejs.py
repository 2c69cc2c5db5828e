"""three.js GLTFLoader in headless Chromium loads the glb: the 52 ARKit names in ``morphTargetDictionary``,
skinned meshes and bones, morph weights that take, and a non-blank render of the head.

Real tools: Debian ``chromium`` (scripts/install_tools.sh) and npm ``three`` in tests/js (scripts/setup.sh).
The page (tests/js/threejs_check.html + .mjs) is served from 127.0.0.1 on a free port and POSTs its results
back; the screenshot is kept in pytest's tmp folder and copied to ``out/test-artifacts/threejs.png``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from asset_helpers import ARKIT_52
from PIL import Image
from real_tools import require_tool
from test_fbx import CLIP_S, jaw_clip

import assetgen.heads
from assetgen.asset import build_head_asset
from assetgen.textures import TextureSet
from exporters.gltf import export_glb

ROOT = Path(__file__).resolve().parents[1]
JS_DIR = Path(__file__).parent / "js"
ARTIFACT = ROOT / "out" / "test-artifacts" / "threejs.png"
SIZE = 512
#: Exact flags from docs/ECOSYSTEM.md (headless, software GL, no background network on a closed machine).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
                  f"--window-size={SIZE},{SIZE}", "--virtual-time-budget=10000"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def tools_missing() -> str | None:
    if chromium() is None:
        return "chromium is not installed (run `bash scripts/install_tools.sh`: Debian package chromium)"
    if not (JS_DIR / "node_modules" / "three" / "package.json").exists():
        return "npm package three is not installed in tests/js (run scripts/setup.sh: npm ci --prefix tests/js)"
    return None


class _Server:
    """tests/js as the web root, the glb at /asset.glb, and POST /result collecting the page's JSON."""

    def __init__(self, glb: bytes):
        self.glb = glb
        self.results: list[dict] = []
        self.got = threading.Event()
        outer = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                if self.path.split("?", 1)[0] == "/asset.glb":
                    self.send_response(200)
                    self.send_header("Content-Type", "model/gltf-binary")
                    self.send_header("Content-Length", str(len(outer.glb)))
                    self.end_headers()
                    self.wfile.write(outer.glb)
                    return
                super().do_GET()

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.results.append(json.loads(body))
                outer.got.set()
                self.send_response(204)
                self.end_headers()

            def end_headers(self):
                self.send_header("Cache-Control", "no-store")
                super().end_headers()

            def log_message(self, *args):
                pass

        Handler.extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                                  ".js": "text/javascript"}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(JS_DIR)))
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def skin_textures(size: int = 256) -> TextureSet:
    """Skin-coloured albedo with a little grain, flat normal map: the render's centre must look like skin."""
    rng = np.random.default_rng(0)
    albedo = np.clip(np.array([205, 150, 125]) + rng.normal(0, 8, (size, size, 3)), 0, 255).astype(np.uint8)
    normal = np.broadcast_to(np.array([128, 128, 255], np.uint8), (size, size, 3)).copy()
    orm = np.broadcast_to(np.array([255, 140, 0], np.uint8), (size, size, 3)).copy()
    return TextureSet(albedo=albedo, normal=normal, orm=orm, displacement=np.zeros((size, size), np.uint16),
                      displacement_offset_m=0.0, displacement_scale_m=1e-3, provenance={"generator": "test"})


@pytest.fixture(scope="module")
def page_run(tmp_path_factory) -> tuple[dict, np.ndarray, Path]:
    """(the page's results, the screenshot as RGB array, the screenshot path)."""
    require_tool(tools_missing())
    asset = build_head_asset(assetgen.heads.load("open"), None, skin_textures(), lods=3, provenance={"seed": 7})
    asset = dataclasses.replace(asset, animations=(jaw_clip(len(ARKIT_52), ARKIT_52.index("jawOpen")),))
    shot = tmp_path_factory.mktemp("threejs") / "threejs.png"
    with _Server(export_glb(asset)) as server, tempfile.TemporaryDirectory(prefix="assetgen-chromium-") as profile:
        url = f"http://127.0.0.1:{server.port}/threejs_check.html?glb=/asset.glb&morph=jawOpen&size={SIZE}"
        cmd = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}", url]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        server.got.wait(timeout=5)
    assert shot.exists(), f"no screenshot (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    assert server.results, f"the page posted no result (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, ARTIFACT)
    result = server.results[-1]
    assert result.get("ok"), result.get("error")
    return result, np.asarray(Image.open(shot).convert("RGB")), shot


@pytest.mark.slow
def test_gltfloader_exposes_arkit_names(page_run):
    result, _, _ = page_run
    assert result["three"] == "187"
    assert sorted(result["morphTargetDictionary"]) == sorted(ARKIT_52) and len(result["morphTargetDictionary"]) == 52
    assert result["skinMesh"].startswith("head_LOD0")
    assert result["lodNodes"] == {"head_LOD0": 0, "head_LOD1": 1, "head_LOD2": 2}
    assert result["skinnedMeshCount"] == result["meshCount"] == 3 * 4  # 3 LODs × (skin, 2 eyes, tongue)
    assert result["boneCount"] == 13 and result["skeletonBones"] == 13


@pytest.mark.slow
def test_gltfloader_morph_weights_and_clip(page_run):
    result, _, _ = page_run
    assert result["morphIndex"] == ARKIT_52.index("jawOpen")
    assert result["influenceBefore"] == 0 and result["influenceAfter"] == 1
    (clip,) = result["animations"]
    assert clip["name"] == "jaw_open" and clip["duration"] == pytest.approx(CLIP_S, abs=1e-6)
    assert clip["tracks"] == 3 * 4 + 1  # morph weights: one track per LOD primitive; + the jaw rotation
    assert result["material"] == {"name": "skin", "map": True, "normalMap": True, "roughnessMap": True,
                                  "aoMap": True}


@pytest.mark.slow
def test_render_is_a_head(page_run):
    result, img, shot = page_run
    assert img.shape[:2] == (SIZE, SIZE)
    assert result["drawCalls"] >= 3 and result["triangles"] > 5000  # LOD0 only (LOD1/2 hidden)
    px = img.reshape(-1, 3).astype(np.float64)
    assert px.std(0).max() > 20, "blank screenshot"
    h = SIZE // 2
    centre = img[h - 48:h + 48, h - 48:h + 48].reshape(-1, 3).astype(int)
    skin = (centre[:, 0] > centre[:, 2] + 25) & (centre[:, 0] > 60)  # warm, lit: not the blue background
    assert skin.mean() > 0.6, f"centre is not head-coloured ({skin.mean():.2f}); see {shot}"
    background = img[:16, :16].reshape(-1, 3).astype(int)
    assert (background[:, 2] > background[:, 0]).all()  # the corner is the blue background
