"""Regenerate the committed pictures in samples/ (deterministic; run from the repository root):

    .venv/bin/python samples/make_samples.py

Writes ``pack_contact_sheet.png`` (8 latent heads), ``turntable.png`` (one head, 8 views), ``maps/`` (that
head's four 1K maps + displacement.json) and ``doors/`` (one head per front door: seed, params, text, and an
edit, each with the resolved spec as JSON).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assetgen import control  # noqa: E402
from assetgen.io import atomic_write_bytes, encode_png, json_bytes  # noqa: E402
from assetgen.pipeline import head_surface, load_model  # noqa: E402
from assetgen.render import contact_sheet, render_portrait  # noqa: E402
from assetgen.textures.files import texture_files  # noqa: E402

OUT = ROOT / "samples"
TURNTABLE_SEED = 7
PARAMS = {"identity": {"age": 65, "sex": 1.0, "weight": 0.7, "nose-scale-horiz": 0.6},
          "expression": {"mouthSmileLeft": 0.6, "mouthSmileRight": 0.6},
          "texture": {"skin_tone": 2.5, "stubble": 0.6, "freckles": 0.3}}
TEXT = "a weathered old fisherman with a wide nose, frowning"
EDIT = "age -= 30; mouthSmileLeft -= 0.6; mouthSmileRight -= 0.6; jawOpen += 0.4; stubble = 0"


def portrait(spec, size: int = 256, yaw: float = 20.0) -> np.ndarray:
    model = load_model("open")
    s = head_surface(spec, model=model)
    res = render_portrait(model, s.vertices, s.textures, yaw_deg=yaw, size=size, supersample=2,
                          outputs=("image", "alpha"))
    rgba = torch.cat([res.image[0], res.alpha[0]], -1).numpy().astype(np.float64)
    return np.clip(np.round(rgba * 255), 0, 255).astype(np.uint8)


def main() -> None:
    model = load_model("open")
    # a pack's contact sheet
    specs = control.specs_from_latents(control.latents_from_seeds(range(8)), model, seeds=list(range(8)))
    images = []
    for spec in specs:
        images.append(portrait(spec, 256, 15.0))
    rgba = np.stack(images).astype(np.float64) / 255
    atomic_write_bytes(OUT / "pack_contact_sheet.png",
                       encode_png(contact_sheet(rgba[..., :3], 4, alpha=rgba[..., 3:]), compress_level=9))

    # one head: turntable and maps
    spec = control.spec_from_seed(TURNTABLE_SEED, model)
    s = head_surface(spec, model=model)
    yaws = [360.0 * i / 8 for i in range(8)]
    res = render_portrait(model, s.vertices[None].expand(8, -1, -1), s.textures, yaw_deg=yaws, size=256,
                          supersample=2, outputs=("image", "alpha"))
    atomic_write_bytes(OUT / "turntable.png", encode_png(contact_sheet(res.image, 4, alpha=res.alpha),
                                                         compress_level=9))
    (OUT / "maps").mkdir(exist_ok=True)
    for name, data in texture_files(s.textures, compress_level=9).items():
        atomic_write_bytes(OUT / "maps" / name, data)

    # the front doors
    (OUT / "doors").mkdir(exist_ok=True)
    by_params = control.spec_from_params(PARAMS, model)
    by_text = control.spec_from_text(TEXT, model, seed=3).spec
    edited = control.apply_edit(by_params, EDIT)
    for name, door_spec in (("seed", control.spec_from_seed(42, model)), ("params", by_params),
                            ("text", by_text), ("edit", edited)):
        atomic_write_bytes(OUT / "doors" / f"{name}.png", encode_png(portrait(door_spec), compress_level=9))
        atomic_write_bytes(OUT / "doors" / f"{name}.json", json_bytes(door_spec.to_dict()))
    print(f"wrote samples to {OUT}")


if __name__ == "__main__":
    main()
