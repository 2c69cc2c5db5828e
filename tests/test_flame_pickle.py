"""The restricted unpickler of FLAME files (assetgen.heads.flame_pickle)."""

from __future__ import annotations

import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse
import torch
from flame_fixture import (
    dump_chumpy_style,
    make_flame_arrays,
    make_landmark_embeddings,
    write_deca_embedding,
    write_flame_folder,
    write_malicious_pickle,
    write_model_pickle,
)

from assetgen.heads.flame import load_flame
from assetgen.heads.flame_pickle import UnsafePickleError, load_npy, load_pickle, load_pickle_bytes

SMALL = dict(num_shape=7, num_expression=3, subdivisions=2, seed=3)


@pytest.fixture(scope="module")
def arrays() -> dict:
    return make_flame_arrays(**SMALL)


def _same(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for key in a:
        x, y = a[key], b[key]
        if scipy.sparse.issparse(x):
            assert scipy.sparse.issparse(y) and y.format == x.format
            x, y = x.toarray(), y.toarray()
        if isinstance(x, np.ndarray):
            assert isinstance(y, np.ndarray), key
            np.testing.assert_array_equal(np.asarray(x, y.dtype), y, err_msg=key)
        else:
            assert x == y, key


@pytest.mark.parametrize("variant", ["plain", "chumpy", "python2"])
def test_variants_load_to_the_same_arrays(tmp_path, arrays, variant):
    path = tmp_path / "generic_model.pkl"
    write_model_pickle(path, arrays, variant)
    loaded = load_pickle(path)
    _same(arrays, loaded)
    assert loaded["J_regressor"].format == "csc"
    assert "chumpy" not in sys.modules and "chumpy.ch" not in sys.modules


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_all_pickle_protocols(tmp_path, arrays, protocol):
    _same(arrays, load_pickle_bytes(pickle.dumps(arrays, protocol=protocol)))
    dump_chumpy_style(arrays, tmp_path / "ch.pkl", protocol=protocol)
    _same(arrays, load_pickle(tmp_path / "ch.pkl"))


def test_control_plain_pickle_would_run_the_payload(tmp_path):
    """The payload is real: plain pickle runs it (so the refusal tests below are meaningful)."""
    marker = tmp_path / "pwned"
    write_malicious_pickle(tmp_path / "evil.pkl", marker, kind="eval", nested=False)
    pickle.loads((tmp_path / "evil.pkl").read_bytes())
    assert marker.exists()


@pytest.mark.parametrize("kind, name", [("os.system", "system"), ("eval", "builtins.eval"),
                                        ("popen", "subprocess.Popen")])
@pytest.mark.parametrize("nested", [True, False])
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, kind, name, nested):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    write_malicious_pickle(path, marker, kind=kind, nested=nested)
    with pytest.raises(UnsafePickleError, match=name) as info:
        load_pickle(path)
    assert isinstance(info.value, ValueError) and "refusing" in str(info.value)
    assert "evil.pkl" in str(info.value)
    assert not marker.exists()


def test_malicious_model_and_side_files_via_load_flame(tmp_path):
    marker = tmp_path / "pwned"
    write_malicious_pickle(tmp_path / "generic_model.pkl", marker)
    with pytest.raises(ValueError, match="refusing to unpickle global"):
        load_flame(tmp_path)
    fx = write_flame_folder(tmp_path / "ok", **SMALL, uv_template=False)
    write_malicious_pickle(fx.folder / "flame_static_embedding.pkl", marker, kind="eval", nested=False)
    with pytest.raises(ValueError, match="builtins.eval"):
        load_flame(fx.folder, shape_space_dim=7)
    write_malicious_pickle(fx.folder / "FLAME_masks.pkl", marker, kind="popen", nested=False)
    with pytest.raises(ValueError, match="subprocess.Popen"):
        load_flame(fx.folder, shape_space_dim=7, landmarks=False)
    assert not marker.exists()


def test_malicious_npy_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pkl"
    write_malicious_pickle(evil, marker, nested=False)
    # An np.save'd object array whose element is the payload (np.save pickles object arrays).
    header_src = tmp_path / "obj.npy"
    np.save(header_src, np.array({"x": 1}, dtype=object), allow_pickle=True)
    raw = header_src.read_bytes()
    start = raw.index(b"\n", 10) + 1  # end of the .npy header
    (tmp_path / "evil.npy").write_bytes(raw[:start] + evil.read_bytes())
    with pytest.raises(UnsafePickleError, match="system"):
        load_npy(tmp_path / "evil.npy")
    assert not marker.exists()


def test_chumpy_expression_is_refused(tmp_path):
    saved = {k: sys.modules.get(k) for k in ("chumpy", "chumpy.ch_ops")}
    ops = types.ModuleType("chumpy.ch_ops")
    add = type("add", (), {"__module__": "chumpy.ch_ops"})
    ops.add = add
    sys.modules.update({"chumpy": types.ModuleType("chumpy"), "chumpy.ch_ops": ops})
    try:
        data = pickle.dumps({"shapedirs": add()}, protocol=2)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
    with pytest.raises(UnsafePickleError, match="chumpy.ch_ops.add.*chumpy expression"):
        load_pickle_bytes(data, name="model.pkl")


def test_chumpy_array_without_x_is_refused(tmp_path):
    path = tmp_path / "m.pkl"
    dump_chumpy_style({"shapedirs": np.zeros(3)}, path, keys=("shapedirs",))
    data = path.read_bytes().replace(b"X\x01\x00\x00\x00x", b"X\x01\x00\x00\x00y")
    with pytest.raises(ValueError, match="no array 'x'"):
        load_pickle_bytes(data)


@pytest.mark.parametrize("cut", [0.0, 0.3, 0.999])
def test_truncated_pickle(tmp_path, arrays, cut):
    data = pickle.dumps(arrays, protocol=2)
    with pytest.raises(ValueError, match="corrupt or truncated|corrupt or malformed"):
        load_pickle_bytes(data[: int(len(data) * cut)], name="generic_model.pkl")


def test_garbage_bytes():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="garbage.pkl"):
        load_pickle_bytes(b"\x80\x02" + rng.bytes(200), name="garbage.pkl")
    with pytest.raises(ValueError):
        load_pickle_bytes(b"not a pickle at all")


def test_malformed_sparse_state():
    bad = scipy.sparse.csc_matrix(np.eye(3))
    bad.indices = np.array([0, 7, 2], dtype=bad.indices.dtype)  # row 7 of a 3-row matrix
    with pytest.raises(ValueError, match="corrupt or malformed"):
        load_pickle_bytes(pickle.dumps({"J_regressor": bad}, protocol=2))


def test_npy_plain_object_and_torch(tmp_path, arrays):
    np.save(tmp_path / "plain.npy", np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(load_npy(tmp_path / "plain.npy"), np.arange(6.0).reshape(2, 3))
    static, dynamic = make_landmark_embeddings(arrays)
    np.save(tmp_path / "dyn.npy", dynamic, allow_pickle=True)
    loaded = load_npy(tmp_path / "dyn.npy")
    np.testing.assert_array_equal(loaded["lmk_face_idx"], dynamic["lmk_face_idx"])
    write_deca_embedding(tmp_path / "deca.npy", static, dynamic)
    deca = load_npy(tmp_path / "deca.npy")
    assert isinstance(deca["dynamic_lmk_faces_idx"], np.ndarray)  # torch tensors come back as numpy
    np.testing.assert_array_equal(deca["dynamic_lmk_faces_idx"], dynamic["lmk_face_idx"])
    np.testing.assert_array_equal(deca["dynamic_lmk_bary_coords"], dynamic["lmk_b_coords"])
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match="bad.npy"):
        load_npy(tmp_path / "bad.npy")
    raw = (tmp_path / "dyn.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="cut.npy"):
        load_npy(tmp_path / "cut.npy")


def test_torch_tensor_survives_weights_only_path():
    data = pickle.dumps({"t": torch.arange(6, dtype=torch.float64).reshape(2, 3)[:, 1:]}, protocol=4)
    out = load_pickle_bytes(data)["t"]
    np.testing.assert_array_equal(out, np.array([[1.0, 2.0], [4.0, 5.0]]))
