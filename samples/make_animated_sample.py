"""Regenerate the animated sample: a head playing a clip made from text, as engines play it.

    .venv/bin/python samples/make_animated_sample.py

Writes ``samples/animated/`` (the bundle: ``head.glb`` with the clip, 256² maps, LOD0 only, ``manifest.json``;
``BundleOptions(vertex_cache=True)`` would add the PC2 vertex cache), ``samples/animated_clip.gif`` (12 fps) and
``samples/animated_clip.png`` (a contact sheet of 8 frames). The frames are the exporter's own playback of the glb clip
(:func:`exporters.vertex_cache.pose_frames`: blendshapes, then 4-influence skinning), rendered by the CPU
rasterizer, so the pictures show exactly what an engine plays.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assetgen import control  # noqa: E402
from assetgen.animation import sequence_from_text  # noqa: E402
from assetgen.io import atomic_write_bytes, encode_png  # noqa: E402
from assetgen.pipeline import PipelineOptions, generate_head, load_model  # noqa: E402
from assetgen.render import contact_sheet, render_portrait  # noqa: E402
from exporters.bundle import BundleOptions, write_bundle  # noqa: E402
from exporters.vertex_cache import pose_frames  # noqa: E402

OUT = ROOT / "samples"
SEED = 7
PROMPT = "smiles, then blinks twice and looks left, then nods"
FPS = 12


def main() -> None:
    model = load_model("open")
    clip = sequence_from_text(PROMPT, model, fps=FPS, name="smile_blink_look_nod").sequence
    head = generate_head(control.spec_from_seed(SEED, model), model=model, animations=[clip],
                         options=PipelineOptions(texture_size=256, lods=1, preview_size=128))
    write_bundle(head, OUT / "animated", replace=True)

    times, frames = pose_frames(head.asset, head.asset.animations[0], fps=FPS)
    index = np.concatenate([p.model_vertex for p in head.asset.lods[0].parts])
    verts = np.zeros((len(times), model.num_vertices, 3), np.float32)
    verts[:, index] = frames  # seam copies of one model vertex carry the same position
    res = render_portrait(model, torch.from_numpy(verts), head.textures, yaw_deg=15.0, size=192, supersample=2,
                          outputs=("image", "alpha"), backend="cpu")
    rgb = res.image.numpy() * res.alpha.numpy() + (1 - res.alpha.numpy())  # on white
    images = [Image.fromarray(np.clip(np.round(f * 255), 0, 255).astype(np.uint8)) for f in rgb]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / FPS), loop=0,
                   optimize=False)
    atomic_write_bytes(OUT / "animated_clip.gif", buf.getvalue())
    pick = np.linspace(0, len(times) - 1, 8).round().astype(int)
    sheet = contact_sheet(res.image[pick], 4, alpha=res.alpha[pick])
    atomic_write_bytes(OUT / "animated_clip.png", encode_png(sheet, compress_level=9))
    print(f"{len(times)} frames, {times[-1]:.2f} s; frames shown in the sheet at "
          f"{', '.join(f'{times[i]:.2f}' for i in pick)} s; wrote samples/animated/, animated_clip.gif/.png")


if __name__ == "__main__":
    main()
