"""Linear attribute directions in a head model's identity / expression space (InterFaceGAN recipe).

Paper 004 (StyleFaceUV) §3.2.2 edits attributes by moving a stylecode along the unit normal of a linear SVM
that separates generated samples by an attribute (InterFaceGAN, Shen et al. 2020); paper 003 (AlbedoGAN)
§5.5 edits the latent that drives the 3D face (there with CLIP). We do the same on *our* generated data:

1. sample ``N`` heads from the model's prior (open head: the latent door's specs; FLAME: β, ψ ~ N(0, I)),
2. measure attributes on the generated meshes (:mod:`assetgen.control.measure`, millimetres),
3. label each sample above / below the attribute's median and fit ``sklearn.svm.LinearSVC``; the hyperplane's
   unit normal ``n`` is the direction (its sign chosen so the attribute grows along ``n``),
4. calibrate: ``σ_p`` = spread of the samples' projections on ``n``; ``slope`` = millimetres per unit step,
   the gradient of a ridge fit of the attribute, projected on ``n``.

Spaces: open head ``"identity"`` = its 139 local changes (the six phenotypes — sex, age, build… — are named
controls; they enter the SVM as covariates so a direction does not lean on them: the conditional labelling of
InterFaceGAN §3.3); FLAME ``"identity"`` = the first ``K ≤ 100`` shape coefficients β, ``"expression"`` = the
first ``K ≤ 50`` expression coefficients ψ (measured on the template shape: FLAME's expression offsets are
independent of β). Several attributes at once move by the minimum-norm step whose projection on each normal is
the one asked for (InterFaceGAN's conditional manipulation generalised to ``k`` directions), so "a wide nose
and thin lips" does not let one direction undo the other.

Where they come from (:func:`directions_for`): memory → for the open head, the fitted file shipped in
``assetgen/control/data/`` (``trainers/fit_text_directions.py`` writes it with a JSON model card) → the disk
cache ``$ASSETGEN_CACHE`` (default ``~/.cache/assetgen``) ``/text_directions/<model id>-v<FITTER_VERSION>.npz``
→ a fit (deterministic, a few seconds), written to the cache atomically.
"""

from __future__ import annotations

import io
import json
import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from assetgen.control import controls as C
from assetgen.io import atomic_write_bytes
from assetgen.control.measure import EXPRESSION_MEASURES, measure_landmarks

__all__ = ["FITTER_VERSION", "IDENTITY_MEASURES", "Direction", "Directions", "fit_directions", "directions_for",
           "save_directions", "load_directions", "cache_dir", "DATA_DIR"]

#: Bump when sampling, measurements or the fit change (cache keys and the shipped file carry it).
FITTER_VERSION = 1
#: Shape attributes fitted in every model's identity space.
IDENTITY_MEASURES = ("face_width", "face_length", "jaw_width", "chin_length", "cheek_fullness", "nose_width",
                     "nose_length", "eye_size", "eye_distance", "brow_height", "lip_thickness", "mouth_width",
                     "ear_size")
DATA_DIR = Path(__file__).resolve().parent / "data"
FLAME_SHAPE_DIM, FLAME_EXPRESSION_DIM = 100, 50
_LOCK = threading.Lock()
_MEMORY: dict[tuple[str, int], Directions] = {}


@dataclass(frozen=True)
class Direction:
    """One fitted direction.

    Attributes:
        space: ``"identity"`` or ``"expression"``; measure: a :data:`~assetgen.control.measure.MEASURES` name.
        normal: ``[D]`` unit vector in the space's coordinates (open: local-change units; FLAME: σ).
        sigma: spread (std) of the training samples' projections on ``normal`` (space units).
        slope: millimetres of the attribute per unit step along ``normal``.
        accuracy: held-out accuracy (20 %) of the above/below-median SVM.
    """

    space: str
    measure: str
    normal: np.ndarray
    sigma: float
    slope: float
    accuracy: float


@dataclass
class Directions:
    """The fitted directions of one model: ``(space, measure) → Direction`` plus the fit's card."""

    model: str
    items: dict[tuple[str, str], Direction]
    card: dict = field(default_factory=dict)

    def get(self, space: str, measure: str) -> Direction | None:
        return self.items.get((space, measure))

    def step(self, space: str, requests: list[tuple[str, float]]) -> np.ndarray:
        """Minimum-norm move in ``space`` whose projection on the normal of each requested measure is
        ``amount · σ`` (``requests``: ``(measure, amount)``; amount in σ units, signed). ``KeyError`` for a
        measure without a direction."""
        dirs = [self.items[(space, m)] for m, _ in requests]
        normals = np.stack([d.normal for d in dirs])
        target = np.array([a * d.sigma for (_, a), d in zip(requests, dirs)])
        gram = normals @ normals.T + 1e-6 * np.eye(len(dirs))
        return normals.T @ np.linalg.solve(gram, target)


def cache_dir() -> Path:
    """``$ASSETGEN_CACHE`` or ``~/.cache/assetgen``."""
    return Path(os.environ.get("ASSETGEN_CACHE") or Path.home() / ".cache" / "assetgen")


def _file_key(model: str) -> str:
    return model.replace(":", "-")


# ---------------------------------------------------------------------------------------------- sampling
def _open_samples(model, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    from assetgen.control.latent import latents_from_seeds, specs_from_latents
    from assetgen.control.measure import measure_specs

    seeds = [C.stable_int(f"assetgen.text_directions:{seed}:{i}") for i in range(n)]
    specs = specs_from_latents(latents_from_seeds(seeds), C.OPEN_INFO)
    x = np.array([[s.identity.get(k, 0.0) for k in C.OPEN_LOCAL_CHANGES] for s in specs])
    cov = np.array([[s.identity[k] for k in C.OPEN_PHENOTYPES] for s in specs])
    return x, cov, measure_specs(specs, model)


@torch.no_grad()
def _flame_samples(model, space: str, n: int, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    dim = min(int(model.num_shape if space == "identity" else model.num_expression),
              FLAME_SHAPE_DIM if space == "identity" else FLAME_EXPRESSION_DIM)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1 if space == "identity" else 2]))
    x = rng.standard_normal((n, dim))
    parts = []
    for start in range(0, n, 256):
        rows = x[start:start + 256]
        b = len(rows)
        full = torch.zeros(b, int(model.num_shape if space == "identity" else model.num_expression),
                           dtype=model.dtype, device=model.device)
        full[:, :dim] = torch.as_tensor(rows, dtype=model.dtype, device=model.device)
        kwargs = {"shape": full} if space == "identity" else {"expression": full}
        out = model(**kwargs)
        if out.landmarks is None or out.landmarks.shape[1] != 68:
            raise ValueError("model: FLAME directions need iBUG-68 landmarks (flame_static_embedding.pkl)")
        regions = {k: v.cpu().numpy() for k, v in model.regions.items()}
        parts.append(measure_landmarks(out.landmarks, out.vertices, regions))
    return x, {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _fit_one(x: np.ndarray, cov: np.ndarray | None, m: np.ndarray, seed: int) -> tuple[np.ndarray, float, float,
                                                                                          float] | None:
    """(normal, sigma, slope, held-out accuracy) for one measure, or ``None`` (constant / NaN measure)."""
    from sklearn.linear_model import Ridge
    from sklearn.svm import LinearSVC

    ok = np.isfinite(m)
    if ok.sum() < 20 or np.std(m[ok]) < 1e-6:
        return None
    x, m = x[ok], m[ok]
    cov = None if cov is None else cov[ok]
    feats = x if cov is None else np.concatenate([x, (cov - cov.mean(0)) / (cov.std(0) + 1e-9)], 1)
    labels = (m > np.median(m)).astype(np.int64)
    n_train = int(0.8 * len(m))
    svm = LinearSVC(C=1.0, max_iter=20000, random_state=seed, dual="auto")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        svm.fit(feats[:n_train], labels[:n_train])
    accuracy = float((svm.predict(feats[n_train:]) == labels[n_train:]).mean())
    normal = svm.coef_[0, :x.shape[1]].astype(np.float64)
    norm = np.linalg.norm(normal)
    if norm < 1e-12:
        return None
    normal /= norm
    ridge = Ridge(alpha=1.0).fit(feats, m)
    slope = float(ridge.coef_[:x.shape[1]] @ normal)
    if slope < 0:  # the SVM normal points toward "above the median": the attribute must grow along it
        normal, slope = -normal, -slope
    sigma = float(np.std(x @ normal))
    return normal, sigma, slope, accuracy


def fit_directions(model, *, n: int = 1024, seed: int = 0) -> Directions:
    """Fit every direction of ``model`` (a loaded :class:`~assetgen.heads.HeadModel`); deterministic.

    Args:
        n: samples per space (open head: heads from the latent door; FLAME: β and ψ from N(0, I)).
        seed: seed of the samples and of the SVMs.
    """
    info = C.model_info(model)
    items: dict[tuple[str, str], Direction] = {}
    spaces = [("identity", IDENTITY_MEASURES)] + ([("expression", EXPRESSION_MEASURES)] if info.kind == "flame"
                                                  else [])
    dims = {}
    for space, measures in spaces:
        if info.kind == "open":
            x, cov, values = _open_samples(model, n, seed)
        else:
            x, values = _flame_samples(model, space, n, seed)
            cov = None
        dims[space] = x.shape[1]
        for name in measures:
            fit = _fit_one(x, cov, values[name], seed)
            if fit is not None:
                items[(space, name)] = Direction(space, name, *fit)
    card = {"model": info.id, "fitter_version": FITTER_VERSION, "samples_per_space": n, "seed": seed,
            "dims": dims, "method": "LinearSVC(C=1) on above/below-median labels; ridge slope; 80/20 split",
            "data": ("open head: specs from the latent door (ProceduralMapper), phenotypes as covariates"
                     if info.kind == "open" else "FLAME: beta, psi ~ N(0, I); psi on the template shape"),
            "directions": {f"{k[0]}/{k[1]}": {"accuracy": round(d.accuracy, 4), "slope_mm": round(d.slope, 4),
                                              "sigma": round(d.sigma, 4)} for k, d in items.items()}}
    return Directions(info.id, items, card)


# ------------------------------------------------------------------------------------------------ files
def save_directions(directions: Directions, path: str | Path) -> None:
    """Write ``directions`` to ``path`` (.npz) and its card next to it (.json), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for (space, name), d in directions.items.items():
        arrays[f"{space}/{name}"] = np.concatenate([[d.sigma, d.slope, d.accuracy], d.normal])
    arrays["__meta__"] = np.frombuffer(json.dumps({"model": directions.model, "card": directions.card}).encode(),
                                       dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())
    atomic_write_bytes(path.with_suffix(".json"), json.dumps(directions.card, indent=1, sort_keys=True).encode())


def load_directions(path: str | Path) -> Directions:
    """Read a file written by :func:`save_directions` (no pickles)."""
    with np.load(Path(path), allow_pickle=False) as data:
        meta = json.loads(bytes(data["__meta__"]).decode())
        items = {}
        for key in data.files:
            if key == "__meta__":
                continue
            space, name = key.split("/")
            row = data[key]
            items[(space, name)] = Direction(space, name, row[3:].copy(), float(row[0]), float(row[1]), float(row[2]))
    return Directions(meta["model"], items, meta["card"])


def shipped_path(model_id: str) -> Path:
    return DATA_DIR / f"text_directions_{_file_key(model_id)}.npz"


def directions_for(model, *, fit: bool = True) -> Directions:
    """The directions of ``model`` (a loaded head model, or ``"open"``): memory → shipped file (open) → disk
    cache → fit (then cached). ``fit=False`` raises ``LookupError`` instead of fitting."""
    info = C.model_info(model)
    key = (info.id, FITTER_VERSION)
    with _LOCK:
        if key in _MEMORY:
            return _MEMORY[key]
        candidates = [shipped_path(info.id)] if info.kind == "open" else []
        candidates.append(cache_dir() / "text_directions" / f"{_file_key(info.id)}-v{FITTER_VERSION}.npz")
        for path in candidates:
            if path.exists():
                try:
                    d = load_directions(path)
                except (OSError, ValueError, KeyError):
                    continue
                if d.card.get("fitter_version") == FITTER_VERSION and d.model == info.id:
                    _MEMORY[key] = d
                    return d
        if not fit:
            raise LookupError(f"model: no fitted text directions for {info.id!r}; pass the loaded model")
        if isinstance(model, (str, C.ModelInfo)):
            if info.kind != "open":
                raise ValueError(f"model: fitting directions for {info.id!r} needs the loaded FLAME model")
            from assetgen.heads import load

            model = load("open")
        d = fit_directions(model)
        try:
            save_directions(d, candidates[-1])
        except OSError as exc:  # a read-only home must not break the text door
            warnings.warn(f"could not cache text directions: {exc}", RuntimeWarning, stacklevel=2)
        _MEMORY[key] = d
        return d


def clear_memory() -> None:
    """Forget in-memory directions (tests)."""
    with _LOCK:
        _MEMORY.clear()
