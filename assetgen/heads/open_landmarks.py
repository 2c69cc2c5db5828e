"""The 68-point facial landmark definition (iBUG 300-W / Multi-PIE order) of the built-in open head.

:func:`define_landmarks` embeds the 68 points in the mesh as surface points (skin triangle + barycentric
weights, like FLAME's static landmark embedding), so they follow the mesh under any shape, expression and
pose. :mod:`compile_open` runs it once on the default (shape 0) head and stores the result in the compiled
file, so any change here must bump ``compile_open.COMPILER_VERSION``.

Model frame: meters, +Y up, the face looks toward +Z, the subject's left is +X. "Right" always means the
subject's right (−X), the image left of a frontal photograph, as in iBUG.

Every point is placed on the subject's right half or on the midline ``x = 0``; the left half is the exact
mirror image (the skin mesh is left-right symmetric, so a mirrored point keeps its barycentric weights on
the mirrored triangle). Most points are *frontal* surface points: an orthographic ray along −Z at
``(x, y)`` picks the frontmost skin triangle, i.e. where an annotator would click on a frontal image.

* **Eyes 36–47**: the eye opening is where the eyeball (part ``eye_right``) is the frontmost surface of
  the frontal view; its outline is traced by bisection along rays from the eyeball's centre. The corners
  36 (outer) and 39 (inner) are the outline's extremes in x; 37/38 (upper lid) and 41/40 (lower lid) are
  at 1/3 and 2/3 of the way from the outer to the inner corner. Each point is the first viewer-facing skin
  just outside the outline: the lid margin, not the steep rim where the lid curls into the socket.
* **Outer lips 48–59**: the vermilion border is the boundary of the ``lips`` region (midpoints of the
  lips–face edges). The mouth corner 48 is its most lateral crossing; 49/59 are at 0.6 and 50/58 at 0.25
  of the corner's |x|, 51/57 on the midline, each at the border height given by a local line fit to the
  crossings.
* **Inner lips 60–67**: the lip contact line, where the frontal view jumps from the upper-lip sheet to the
  lower-lip sheet (told apart by their ``jaw`` skinning weight; a sliver of mouth between them is
  skipped). 61–63 are on the upper lip's edge and 65–67 on the lower lip's (61/67 at 0.3 of the inner
  corner's |x|); the inner corner 60 is the lateral end of the contact line. With a closed mouth 61–63
  and 67–65 nearly coincide; they separate as the mouth opens.
* **Nose 27–35**: tip 30 = most forward point of the midline profile; nasion 27 = deepest midline point
  between the eyes and 3 cm above them; 28/29 at 1/3 and 2/3 of the height from 27 to 30; subnasale 33 =
  the sharpest concave kink of the midline profile between the upper lip and the tip (lip meets
  columella). 31 sits at 0.85 of the nose half-width (the alar–cheek crease: the most lateral steep part
  of horizontal profiles below the tip), 32 half-way to the midline, each at the sharpest concave kink of
  its vertical profile (where the lip meets the nose; 32 searched no higher than 31 and 33).
* **Brows 17–26**: five points in equal x steps from 0.55 eye widths lateral of the outer eye corner to
  0.3 eye widths medial of the inner corner, on an arch whose peak (19) is 0.95 eye widths above the line
  of the eye corners (relative heights 0.5, 0.9, 1, 0.95, 0.8 from tail to head). The mesh has no brows
  and its forehead no distinct ridge, so a facial proportion sets the height.
* **Jaw 0–16**: the frontal outline of the ``face`` region (the face without ears, neck and scalp),
  traced by rays from the nose-tip height on the midline, from the height of jaw 0 (6.7 % of the
  eye-corner-to-chin height below the outer eye corner, about the lower lid's height) round the chin to
  the other side, sampled at equal arc length; jaw 8 is the bottom of the chin.
"""

from __future__ import annotations

import numpy as np

from assetgen.heads.surface_query import FrontCaster, Surface, bisect

NUM_LANDMARKS = 68

#: iBUG 68 index → index of its mirror partner (left ↔ right); midline points map to themselves.
IBUG68_MIRROR = np.array(
    list(range(16, -1, -1))  # jaw
    + list(range(26, 16, -1))  # brows
    + [27, 28, 29, 30]  # nose bridge
    + [35, 34, 33, 32, 31]  # lower nose
    + [45, 44, 43, 42, 47, 46]  # right eye → left eye
    + [39, 38, 37, 36, 41, 40]  # left eye → right eye
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer lips
    + [64, 63, 62, 61, 60, 67, 66, 65],  # inner lips
    dtype=np.int64,
)


def landmark_names() -> list[str]:
    """The 68 names in iBUG order (``jaw_00``…, ``brow_right_0``…, ``lip_inner_7``)."""
    names = [f"jaw_{i:02d}" for i in range(17)]
    names += [f"brow_right_{i}" for i in range(5)] + [f"brow_left_{i}" for i in range(5)]
    names += [f"nose_bridge_{i}" for i in range(4)] + [f"nose_lower_{i}" for i in range(5)]
    names += [f"eye_right_{i}" for i in range(6)] + [f"eye_left_{i}" for i in range(6)]
    names += [f"lip_outer_{i}" for i in range(12)] + [f"lip_inner_{i}" for i in range(8)]
    return names


# ---------------------------------------------------------------------------------------------- geometry


def _depth_profile(surf: Surface, x: float, ys: np.ndarray) -> np.ndarray:
    """Frontal depth ``z`` of the skin along the vertical line ``x`` (``nan`` where nothing is hit)."""
    out = np.full(len(ys), np.nan)
    for i, y in enumerate(ys):
        h = surf.front.hit(x, float(y))
        if h is not None:
            out[i] = h[2]
    return out


def _ridge(values: np.ndarray, coords: np.ndarray, tol: float, lowest: bool = False) -> float:
    """Centre of the flat top (or bottom) of a sampled profile: the mean coordinate of the samples within
    ``tol`` of the extreme, in the connected run around the extreme (robust to a flat maximum)."""
    vals = -values if lowest else values
    vals = np.where(np.isfinite(vals), vals, -np.inf)
    j = int(np.argmax(vals))
    lo = hi = j
    while lo > 0 and vals[lo - 1] >= vals[j] - tol:
        lo -= 1
    while hi < len(vals) - 1 and vals[hi + 1] >= vals[j] - tol:
        hi += 1
    return float(coords[lo : hi + 1].mean())


# ---------------------------------------------------------------------------------------------- groups
def _eye(surf: Surface, v: np.ndarray, skin_tris: np.ndarray, eye_tris: np.ndarray):
    """The right eye's 6 points (iBUG 36–41) and the eye opening's extent."""
    caster = FrontCaster(v, np.concatenate([skin_tris, eye_tris]))
    num_skin = len(skin_tris)
    eye_verts = np.unique(eye_tris)
    centre = v[eye_verts, :2].mean(0)

    def eye_visible(p: np.ndarray) -> bool:
        h = caster.hit(float(p[0]), float(p[1]))
        return h is not None and h[0] >= num_skin

    if not eye_visible(centre):
        raise RuntimeError("define_landmarks: the eyeball is not visible at its centre in the frontal view")

    def boundary(theta: float) -> float:
        d = np.array([np.cos(theta), np.sin(theta)])
        r = 0.0
        while eye_visible(centre + (r + 0.0005) * d):
            r += 0.0005
            if r > 0.05:
                raise RuntimeError("define_landmarks: eye opening is not closed")
        return bisect(lambda s: eye_visible(centre + s * d), r, r + 0.0005, iters=30)

    thetas = np.linspace(0.0, 2 * np.pi, 241)[:-1]
    radii = np.array([boundary(t) for t in thetas])
    pts = centre + radii[:, None] * np.stack([np.cos(thetas), np.sin(thetas)], 1)

    def refine(sign: float, start: float) -> float:
        """Angle of the outline's extreme in x (sign −1: min x), golden-section search near start."""
        f = lambda t: sign * (centre[0] + boundary(t) * np.cos(t))  # noqa: E731
        a, b = start - 2 * (thetas[1] - thetas[0]), start + 2 * (thetas[1] - thetas[0])
        g = (np.sqrt(5) - 1) / 2
        c, d = b - g * (b - a), a + g * (b - a)
        for _ in range(25):
            if f(c) > f(d):
                b, d = d, c
                c = b - g * (b - a)
            else:
                a, c = c, d
                d = a + g * (b - a)
        return 0.5 * (a + b)

    # right eye: the outer corner is at −X (angle near π), the inner one at +X (angle near 0)
    t_outer = float(np.mod(refine(-1.0, thetas[np.argmin(pts[:, 0])]), 2 * np.pi))
    t_inner = float(np.mod(refine(+1.0, thetas[np.argmax(pts[:, 0])]) + np.pi, 2 * np.pi) - np.pi)

    def lid_point(theta: float) -> tuple[np.ndarray, np.ndarray]:
        """The lid margin: the first viewer-facing skin just outside the opening along the ray."""
        d = np.array([np.cos(theta), np.sin(theta)])
        return surf.frontal_facing(centre + boundary(theta) * d, d)

    outer, inner = lid_point(t_outer), lid_point(t_inner)
    x_out, x_in = centre[0] + boundary(t_outer) * np.cos(t_outer), centre[0] + boundary(t_inner) * np.cos(t_inner)

    def theta_at(x: float, upper: bool) -> float:
        """Angle of the outline point at abscissa x on the upper (or lower) lid."""
        lo, hi = (t_inner, t_outer) if upper else (t_outer, t_inner + 2 * np.pi)
        # along the upper lid the angle runs from the inner corner (x max) to the outer corner (x min)
        f = lambda t: centre[0] + boundary(t) * np.cos(t) - x  # noqa: E731
        a, b = lo, hi
        fa = f(a)
        for _ in range(30):
            m = 0.5 * (a + b)
            fm = f(m)
            if (fm > 0) == (fa > 0):
                a, fa = m, fm
            else:
                b = m
        return 0.5 * (a + b)

    xs = [x_out + (x_in - x_out) * s for s in (1 / 3, 2 / 3)]
    up = [lid_point(theta_at(x, True)) for x in xs]
    low = [lid_point(theta_at(x, False)) for x in xs]
    # iBUG: 36 outer corner, 37/38 upper lid (outer → inner), 39 inner corner, 40/41 lower lid (inner → outer)
    points = [outer, up[0], up[1], inner, low[1], low[0]]
    top = max(centre[1] + r * np.sin(t) for r, t in zip(radii, thetas))
    y_corners = centre[1] + 0.5 * (boundary(t_outer) * np.sin(t_outer) + boundary(t_inner) * np.sin(t_inner))
    return points, dict(x_outer=x_out, x_inner=x_in, centre=centre, outline=pts, y_top=top, y_corners=y_corners)


def _mouth(surf: Surface, v: np.ndarray, skin_tris: np.ndarray, lips: np.ndarray, inside_mouth: np.ndarray,
           jaw_weight: np.ndarray):
    """Outer (48–59) and inner (60–67) lip points of the right half and the midline."""
    is_lip = np.zeros(len(v), dtype=bool)
    is_lip[lips] = True
    is_inside = np.zeros(len(v), dtype=bool)
    is_inside[inside_mouth] = True
    # vermilion border: midpoints of skin edges from a lip vertex to a face (non-lip, non-mouth) vertex
    edges = np.concatenate([skin_tris[:, [0, 1]], skin_tris[:, [1, 2]], skin_tris[:, [2, 0]]])
    edges = np.unique(np.sort(edges, 1), axis=0)
    a, b = edges[:, 0], edges[:, 1]
    border = (is_lip[a] & ~is_lip[b] & ~is_inside[b]) | (is_lip[b] & ~is_lip[a] & ~is_inside[a])
    border_edges = edges[border]
    mids = v[border_edges].mean(1)
    # the mouth corner: the border crossing with the most lateral x (right side)
    k = int(np.argmin(mids[:, 0]))
    corner = (np.array([border_edges[k, 0], border_edges[k, 1], border_edges[k, 1]]), np.array([0.5, 0.5, 0.0]))
    corner = _on_face(surf, corner)
    x_c, y_c = mids[k, 0], mids[k, 1]

    # the contact line (inner lips): along a vertical line, the frontal view jumps from the upper-lip
    # sheet (jaw weight low) to the lower-lip sheet (jaw weight high)
    def sample(x: float, y: float) -> tuple[float, float]:
        h = surf.front.hit(x, y)
        return float(jaw_weight[surf.tris[h[0]]] @ h[1]), h[2]

    def slit(x: float, span: float = 0.006, step: float = 5e-5):
        """The contact line on the vertical line ``x``: ``(y of the upper lip's edge, y of the lower lip's
        edge)``, or ``None`` where the frontal view is continuous (no jaw-weight jump of 0.1 or more)."""
        ys = np.arange(y_c + span, y_c - span, -step)
        wz = np.array([sample(x, float(y)) for y in ys])
        w, z = wz[:, 0], wz[:, 1]
        dw = np.diff(w)
        j = int(np.argmax(dw))
        if dw[j] < 0.1:
            return None
        thr = w[j + 1] - 0.05
        # samples between the lips seeing into the mouth (well behind the lower lip's edge) form the gap
        deep = z < z[j + 1] - 0.0015
        i = j
        while i > 0 and deep[i] and w[i] < thr:
            i -= 1

        def lower_lip(yy: float) -> bool:
            return sample(x, yy)[0] >= thr

        def upper_lip(yy: float) -> bool:
            wv, zv = sample(x, yy)
            return wv < thr and zv >= z[j + 1] - 0.0015

        y_low = bisect(lambda yy: not lower_lip(yy), float(ys[j]), float(ys[j + 1]), iters=30)
        y_up = bisect(upper_lip, float(ys[i]), float(ys[i + 1]), iters=30) if i < j else y_low
        return y_up, y_low

    # lateral end of the contact line: bisection on x between the corner and the midline
    x_lo, x_hi = x_c, 0.0
    if slit(x_hi) is None:
        raise RuntimeError("define_landmarks: no lip contact line on the midline")
    for _ in range(20):
        xm = 0.5 * (x_lo + x_hi)
        if slit(xm) is None:
            x_lo = xm
        else:
            x_hi = xm
    x_inner_corner = x_hi
    y_ic = 0.5 * sum(slit(x_inner_corner))

    def inner_pair(x: float):
        y_up, y_low = slit(x)
        up, down = np.array([0.0, 1.0]), np.array([0.0, -1.0])
        return (surf.frontal_facing(np.array([x, y_up]), up), surf.frontal_facing(np.array([x, y_low]), down),
                0.5 * (y_up + y_low))

    inner_corner = surf.frontal(x_lo, y_ic)  # just lateral of the contact line's end: one continuous sheet
    xi = 0.3 * x_inner_corner
    up61, low67, _ = inner_pair(xi)
    up62, low66, y_mid = inner_pair(0.0)

    # outer border heights at given x: local line fit to the border crossings above / below the slit
    def border_y(x: float, upper: bool) -> float:
        y_ref = y_c + (y_mid - y_c) * (x - x_c) / (0.0 - x_c)
        sel = (mids[:, 1] > y_ref) if upper else (mids[:, 1] < y_ref)
        for window in (0.004, 0.006, 0.008):
            near = sel & (np.abs(mids[:, 0] - x) < window)
            if len(np.unique(mids[near, 0].round(6))) >= 2:
                break
        else:
            raise RuntimeError("define_landmarks: too few vermilion border points")
        coef = np.polyfit(mids[near, 0] - x, mids[near, 1], 1)
        return float(coef[1])

    outer_up = [surf.frontal(x, border_y(x, True)) for x in (0.6 * x_c, 0.25 * x_c, 0.0)]
    outer_low = [surf.frontal(x, border_y(x, False)) for x in (0.6 * x_c, 0.25 * x_c, 0.0)]
    info = dict(x_corner=x_c, y_corner=y_c, y_upper_mid=border_y(0.0, True), y_slit_mid=y_mid)
    return dict(corner=corner, outer_up=outer_up, outer_low=outer_low, inner_corner=inner_corner,
                inner_up=[up61, up62], inner_low=[low67, low66]), info


def _on_face(surf: Surface, point: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Re-express a point given on an edge ``(a, b, b)`` on one skin triangle holding that edge."""
    tri, bary = point
    a, b = int(tri[0]), int(tri[1])
    for f in surf.tris:
        if a in f and b in f:
            w = np.zeros(3)
            w[list(f).index(a)] += bary[0]
            w[list(f).index(b)] += bary[1] + bary[2]
            return f.copy(), w
    return surf.snap(surf.position(point))


def _kink(values: np.ndarray, half: int) -> int:
    """Index of the strongest concave kink of a sampled profile (largest second difference over ±half
    samples)."""
    if len(values) <= 2 * half:
        raise RuntimeError("define_landmarks: profile too short to find a kink")
    second = np.full(len(values), -np.inf)
    second[half:-half] = values[2 * half:] + values[: -2 * half] - 2 * values[half:-half]
    second = np.where(np.isfinite(second), second, -np.inf)
    return int(np.argmax(second))


def _nose(surf: Surface, y_eye: float, y_brow: float, y_lip_top: float, x_eye_outer: float):
    """Nose bridge 27–30 and lower nose 31–33 (right half + midline)."""
    step = 2.5e-4
    half = 4  # ±1 mm second differences
    ys = np.arange(y_lip_top, y_brow, step)
    prof = _depth_profile(surf, 0.0, ys)
    y_tip = float(ys[int(np.nanargmax(prof))])
    # nasion: deepest midline point between the eyes and the brows
    m = (ys >= y_eye) & (ys <= y_brow)
    y_nasion = _ridge(prof[m], ys[m], 1e-5, lowest=True)
    bridge = [surf.frontal(0.0, y_nasion + (y_tip - y_nasion) * s) for s in (0.0, 1 / 3, 2 / 3)]
    tip = surf.frontal(0.0, y_tip)

    def base(x: float, y_from: float, y_to: float) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
        """The nose's lower boundary on the vertical line x: the strongest concave kink of the frontal
        depth profile between y_from and y_to (where the lip surface meets the nose)."""
        yy = np.arange(y_from, y_to, step)
        zz = _depth_profile(surf, x, yy)
        j = _kink(zz, half)
        return float(yy[j]), surf.frontal(x, float(yy[j]))

    # subnasale: where the upper lip meets the columella on the midline
    y_sn, subnasale = base(0.0, y_lip_top + 0.002, y_tip - 0.001)
    # nose half-width: the alar–cheek crease, i.e. the most lateral steep part (|dz/dx| > 2) of horizontal
    # frontal profiles between the subnasale and the tip
    xs = np.arange(0.0, 0.7 * x_eye_outer, -step)
    slopes = []
    for frac in (0.3, 0.45, 0.6, 0.75):
        y = y_sn + frac * (y_tip - y_sn)
        z = np.array([h[2] if (h := surf.front.hit(float(x), y)) is not None else np.nan for x in xs])
        slopes.append(np.abs(np.diff(z)) / step)
    x_alar = 0.0
    for limit in (2.0, 1.5, 1.0):  # a softer crease on flatter noses
        for slope in slopes:
            steep = np.nonzero(slope > limit)[0]
            if len(steep):
                x_alar = min(x_alar, float(xs[steep[-1] + 1]))
        if x_alar < -0.005:
            break
    else:
        raise RuntimeError("define_landmarks: could not find the nose's alar crease")
    x31 = 0.85 * x_alar
    y31, p31 = base(x31, y_sn - 0.003, y_tip - 0.001)
    # 32, half-way to the midline, below the nostril: searched no higher than 31 and 33
    _, p32 = base(0.5 * x31, y_sn - 0.003, max(y31, y_sn) + 0.001)
    return [*bridge, tip], [p31, p32, subnasale], dict(y_tip=y_tip, x_alar=x_alar, y_sn=y_sn, y_nasion=y_nasion)


def _brows(surf: Surface, eye_info: dict):
    """Right brow 17–21 (outer → inner): an arch above the eye, from 0.55 eye widths lateral of the outer
    corner to 0.3 eye widths medial of the inner corner, peaking 0.95 eye widths above the corners' line.

    The head has no brow geometry (MakeHuman brows are separate proxies) and its forehead has no distinct
    ridge, so the height follows the usual facial proportion instead of a measured ridge."""
    x_out, x_in = eye_info["x_outer"], eye_info["x_inner"]
    width = x_in - x_out
    xs = np.linspace(x_out - 0.55 * width, x_in + 0.3 * width, 5)
    y_line = eye_info["y_corners"]
    # the arch: tail lowest, peak over the lateral half of the eye, head a little lower
    return [surf.frontal(float(x), y_line + f * 0.95 * width) for x, f in zip(xs, (0.5, 0.9, 1.0, 0.95, 0.8))]


def _jaw(surf: Surface, v: np.ndarray, face_tris: np.ndarray, y_top: float, centre_y: float):
    """Jaw 0–8 (right ear level → chin bottom) on the frontal outline of the face region."""
    edges = np.concatenate([face_tris[:, [0, 1]], face_tris[:, [1, 2]], face_tris[:, [2, 0]]])
    edges = np.unique(np.sort(edges, 1), axis=0)
    p0, p1 = v[edges[:, 0], :2], v[edges[:, 1], :2]
    c = np.array([0.0, centre_y])

    def outline(theta: float) -> tuple[np.ndarray, float, float]:
        """Farthest crossing of the ray from c at angle theta with the projected face edges:
        ``(edge, s along the edge, distance)``."""
        d = np.array([np.cos(theta), np.sin(theta)])
        e = p1 - p0
        den = d[0] * e[:, 1] - d[1] * e[:, 0]
        w = p0 - c
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (w[:, 0] * e[:, 1] - w[:, 1] * e[:, 0]) / den
            s = (w[:, 0] * d[1] - w[:, 1] * d[0]) / den
        ok = (np.abs(den) > 1e-15) & (s >= 0) & (s <= 1) & (t > 0)
        t = np.where(ok, t, -np.inf)
        k = int(np.argmax(t))
        return edges[k], float(s[k]), float(t[k])

    def point2d(theta: float) -> np.ndarray:
        _, _, t = outline(theta)
        return c + t * np.array([np.cos(theta), np.sin(theta)])

    t_bottom = -np.pi / 2
    # the angle whose outline point is at the height of jaw 0 (right side: angles in (−π, −π/2))
    t0 = bisect(lambda t: point2d(t)[1] > y_top, -np.pi / 2 - 1e-6, -np.pi + 1e-6, iters=40) \
        if point2d(-np.pi + 1e-6)[1] > y_top else None
    if t0 is None:  # the outline starts above centre height: search on the upper side
        t0 = bisect(lambda t: point2d(t)[1] < y_top, -np.pi + 1e-6, -1.5 * np.pi, iters=40)
    ts = np.linspace(t0, t_bottom, 801)
    pts = np.array([point2d(t) for t in ts])
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    points = []
    for i in range(9):
        th = float(np.interp(arc[-1] * i / 8, arc, ts))
        if i == 8:
            th = t_bottom
        edge, s, _ = outline(th)
        point = (np.array([edge[0], edge[1], edge[1]]), np.array([1.0 - s, s, 0.0]))
        points.append(_on_face(surf, point))
    return points, pts


# ---------------------------------------------------------------------------------------------- main
def define_landmarks(
    v_template: np.ndarray,
    faces: np.ndarray,
    regions: dict[str, np.ndarray],
    parts: dict[str, np.ndarray],
    weights: np.ndarray,
    joint_names: list[str],
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Embed the 68 iBUG landmarks in the neutral open head (see module docstring).

    Args:
        v_template: ``[V, 3]`` neutral vertices (model frame).
        faces: ``[F, 3]`` triangles.
        regions: vertex-index arrays ``face``, ``lips``, ``inside_mouth`` (others ignored).
        parts: face-index arrays ``skin``, ``eye_right`` (the eye at −X).
        weights: ``[V, J]`` skinning weights; ``joint_names``: their ``J`` names (``jaw`` is used to tell
            the upper lip from the lower lip).
    Returns:
        ``(landmark_faces [68, 3] int64`` vertex indices of the skin triangle holding each point,
        ``landmark_bary [68, 3]`` float64 barycentric weights (non-negative, rows sum to one),
        ``names`` (68))``.
    """
    v = np.asarray(v_template, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    skin_tris = faces[np.asarray(parts["skin"])]
    surf = Surface(v, skin_tris)
    jaw_weight = np.asarray(weights, dtype=np.float64)[:, list(joint_names).index("jaw")]

    eye_pts, eye_info = _eye(surf, v, skin_tris, faces[np.asarray(parts["eye_right"])])
    mouth, mouth_info = _mouth(surf, v, skin_tris, np.asarray(regions["lips"]), np.asarray(regions["inside_mouth"]),
                               jaw_weight)
    y_eye = float(eye_info["centre"][1])
    bridge, lower_nose, nose_info = _nose(surf, y_eye, y_eye + 0.03, mouth_info["y_upper_mid"], eye_info["x_outer"])
    brows = _brows(surf, eye_info)
    is_face = np.zeros(len(v), dtype=bool)
    is_face[np.asarray(regions["face"])] = True
    face_tris = skin_tris[is_face[skin_tris].all(1)]
    # outer eye corner height, and the chin as the bottom of the face outline
    y_corner = float(surf.position(eye_pts[0])[1])
    jaw_probe, _ = _jaw(surf, v, face_tris, y_corner, nose_info["y_tip"])
    y_chin = float(surf.position(jaw_probe[-1])[1])
    jaw, _ = _jaw(surf, v, face_tris, y_corner - 0.067 * (y_corner - y_chin), nose_info["y_tip"])

    mirror = surf.mirror
    pts: list = [None] * NUM_LANDMARKS
    for i in range(8):
        pts[i] = jaw[i]
        pts[16 - i] = mirror(jaw[i])
    pts[8] = jaw[8]
    for i in range(5):
        pts[17 + i] = brows[i]
        pts[26 - i] = mirror(brows[i])
    pts[27:31] = bridge
    pts[31], pts[32], pts[33] = lower_nose
    pts[34], pts[35] = mirror(lower_nose[1]), mirror(lower_nose[0])
    for i in range(6):
        pts[36 + i] = eye_pts[i]
    for i in range(6):  # mirror partners of 36..41 are 45, 44, 43, 42, 47, 46
        pts[int(IBUG68_MIRROR[36 + i])] = mirror(eye_pts[i])
    up, low = mouth["outer_up"], mouth["outer_low"]
    pts[48], pts[49], pts[50], pts[51] = mouth["corner"], up[0], up[1], up[2]
    pts[52], pts[53], pts[54] = mirror(up[1]), mirror(up[0]), mirror(mouth["corner"])
    pts[55], pts[56], pts[57], pts[58], pts[59] = mirror(low[0]), mirror(low[1]), low[2], low[1], low[0]
    iu, il = mouth["inner_up"], mouth["inner_low"]
    pts[60], pts[61], pts[62], pts[63] = mouth["inner_corner"], iu[0], iu[1], mirror(iu[0])
    pts[64], pts[65], pts[66], pts[67] = mirror(mouth["inner_corner"]), mirror(il[0]), il[1], il[0]

    landmark_faces = np.stack([p[0] for p in pts]).astype(np.int64)
    landmark_bary = np.stack([p[1] for p in pts]).astype(np.float64)
    landmark_bary = np.clip(landmark_bary, 0.0, 1.0)
    landmark_bary /= landmark_bary.sum(1, keepdims=True)
    return landmark_faces, landmark_bary, landmark_names()
