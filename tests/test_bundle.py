"""Tests of exporters.bundle: one head's folder, its manifest and byte-identical rewrites."""

import hashlib
import io
import json

import numpy as np
import pygltflib
import pytest
from PIL import Image

from assetgen import control
from assetgen.pipeline import PipelineOptions, generate_head
from exporters.bundle import BundleOptions, bundle_files, write_bundle

SMALL = PipelineOptions(texture_size=64, lods=2, preview_size=48)


@pytest.fixture(scope="module")
def head():
    return generate_head(control.spec_from_seed(11), options=SMALL)


def test_bundle_folder_layout_and_manifest(head, tmp_path):
    doc = write_bundle(head, tmp_path / "b")
    names = sorted(str(p.relative_to(tmp_path / "b")) for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert names == ["head.glb", "manifest.json", "preview.png", "textures/albedo.png", "textures/displacement.json",
                     "textures/displacement.png", "textures/normal.png", "textures/orm.png"]
    on_disk = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert on_disk == doc
    assert doc["spec_hash"] == head.spec.hash and doc["spec"] == head.spec.to_dict()
    assert doc["provenance"]["head_model"]["license"].startswith("CC0")
    for name, entry in doc["files"].items():
        data = (tmp_path / "b" / name).read_bytes()
        assert entry == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert doc["lods"][0] == 9014 and abs(doc["lods"][1] / doc["lods"][0] - 0.5) < 0.05
    # the maps on disk are the texture set's pixels
    albedo = np.asarray(Image.open(tmp_path / "b" / "textures" / "albedo.png"))
    assert np.array_equal(albedo, head.textures.albedo)
    disp = np.asarray(Image.open(tmp_path / "b" / "textures" / "displacement.png"))
    assert np.array_equal(disp.astype(np.uint16), head.textures.displacement)
    meta = json.loads((tmp_path / "b" / "textures" / "displacement.json").read_text())
    assert meta["scale_m"] == head.textures.displacement_scale_m
    # the glb carries the provenance too
    gltf = pygltflib.GLTF2.load_from_bytes((tmp_path / "b" / "head.glb").read_bytes())
    assert gltf.asset.extras["spec_hash"] == head.spec.hash
    assert gltf.asset.extras["head_model"]["license"] == doc["provenance"]["head_model"]["license"]
    assert doc["animations"] == []
    preview = Image.open(io.BytesIO((tmp_path / "b" / "preview.png").read_bytes()))
    assert preview.mode == "RGBA" and preview.size == (48, 48)


def test_bundles_are_byte_identical(head, tmp_path):
    a = write_bundle(head, tmp_path / "a")
    again = generate_head(control.spec_from_seed(11), options=SMALL)
    b = write_bundle(again, tmp_path / "b")
    assert a["files"] == b["files"]
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (tmp_path / "b" / "manifest.json").read_bytes()


def test_existing_folder_is_refused_unless_replaced(head, tmp_path):
    write_bundle(head, tmp_path / "b")
    with pytest.raises(FileExistsError):
        write_bundle(head, tmp_path / "b")
    write_bundle(head, tmp_path / "b", replace=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_bundle_files_is_pure(head):
    assert bundle_files(head) == bundle_files(head)


@pytest.mark.parametrize("kwargs,field", [({"format": "obj"}, "format"), ({"fbx_preset": "godot"}, "fbx_preset"),
                                          ({"png_compress_level": 12}, "png_compress_level"),
                                          ({"vertex_cache": "yes"}, "vertex_cache"),
                                          ({"vertex_cache_fps": 0}, "vertex_cache_fps")])
def test_bad_options(kwargs, field):
    with pytest.raises(ValueError, match=field):
        BundleOptions(**kwargs)


def test_clips_in_the_manifest_and_vertex_caches(tmp_path):
    from assetgen.animation import preset, sequence_from_text
    from exporters.vertex_cache import decode_pc2

    clips = [preset("blink", fps=24), sequence_from_text("nods twice", fps=24, use_encoder=False).sequence]
    head = generate_head(control.spec_from_seed(3), options=SMALL, animations=clips)
    doc = write_bundle(head, tmp_path / "b", BundleOptions(vertex_cache=True, vertex_cache_fps=24))
    assert [a["name"] for a in doc["animations"]] == ["blink", "text"]
    blink = doc["animations"][0]
    assert blink["duration_s"] == pytest.approx(0.5) and blink["keys"] == 13 and blink["morph_weights"]
    assert doc["animations"][1]["joints"] == ["head", "neck01", "neck02", "neck03"]
    assert {"cache/blink.pc2", "cache/text.pc2", "cache/vertex_cache.json"} <= set(doc["files"])
    frames, _, _ = decode_pc2((tmp_path / "b" / "cache" / "blink.pc2").read_bytes())
    assert frames.shape[0] == 13
    with pytest.raises(ValueError, match="no animation clips"):
        bundle_files(generate_head(control.spec_from_seed(3), options=SMALL), BundleOptions(vertex_cache=True))
