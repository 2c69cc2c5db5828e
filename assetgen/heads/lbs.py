"""Pure tensor functions of the linear-blend head models (the lower of the two layers, as in smplx).

Everything here is stateless and batched; shapes are given as ``[B, V, 3]`` (batch, vertices, xyz), or
``[B, 3, V]`` where a function says "planar" (all x, then all y, then all z). Positions are in meters and
angles in radians. No function here validates user input: the public ``HeadModel.forward`` does that once,
and these functions are the hot path.

The equations are the standard 3DMM forward of FLAME (Li et al. 2017), which paper 003 (AlbedoGAN, §3)
builds on:  T_P(β, ψ, θ) = T̄ + B_S(β) + B_E(ψ) + B_P(θ);  J(β, ψ) = 𝒥 (T̄ + B_S + B_E);
M = W(T_P, J, θ, 𝒲)  (linear blend skinning).

At batch 1 on a CPU every eager op costs microseconds whatever its size, so the small parts (rotations,
kinematic chain, landmarks) are written as few whole-batch ops: rotations and pose-corrective features as
constant linear maps of the quaternion outer products, the kinematic chain one matrix product per group of
sibling joints, landmarks one gather. The constants they need are built once by the caller
(:func:`rotation_basis`, :class:`KinematicTree`, :func:`embedding_table`) and passed in, so nothing here
caches anything. Skinning works on planar vertices so that every elementwise loop runs over whole rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def rotation_basis(num_joints: int = 1, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """The constant linear maps from unit quaternions' outer products to their rotations.

    For ``q = (w, x, y, z)`` and ``Q = vec(q qᵀ)`` (``[16]``, index ``4m + n``), ``Q @ homogeneous`` is
    ``vec(H)``, ``H = [[R, 0], [0, |q|²]]`` the homogeneous rotation with
    ``R = [[ww + xx − yy − zz, 2(xy − wz), 2(xz + wy)], [2(xy + wz), ww − xx + yy − zz, 2(yz − wx)],
    [2(xz − wy), 2(yz + wx), ww − xx − yy + zz]]``, and the products of joints ``1..J−1``, concatenated
    (``[16 (J − 1)]``), times ``features`` are their ``vec(R − I)`` (``[9 (J − 1)]``, smplx's pose-corrective
    features; diagonal ``−2(yy + zz)``…, using ``|q| = 1``). Every coefficient is 0, ±1 or ±2, so the
    products are exact up to the rounding of the sums.

    Returns:
        ``(homogeneous [16, 16], features [16 (J − 1), 9 (J − 1)])`` of ``dtype`` on ``device``.
    """
    w, x, y, z = range(4)
    squares = {0: (w, x, y, z), 1: (w, y, x, z), 2: (w, z, x, y)}  # R_ii = q_a² + q_b² − q_c² − q_d²
    off = {  # R[row, col] / 2 for row ≠ col, as signed quaternion products
        (0, 1): [(1, x, y), (-1, w, z)], (0, 2): [(1, x, z), (1, w, y)], (1, 0): [(1, x, y), (1, w, z)],
        (1, 2): [(1, y, z), (-1, w, x)], (2, 0): [(1, x, z), (-1, w, y)], (2, 1): [(1, y, z), (1, w, x)],
    }
    hom = torch.zeros(16, 16, dtype=torch.float64)
    feat = torch.zeros(16, 9, dtype=torch.float64)
    for i, (a, b, c, d) in squares.items():
        for sign, m in ((1, a), (1, b), (-1, c), (-1, d)):
            hom[5 * m, 5 * i] = sign
        for m in (c, d):  # R_ii − 1 = −2(q_c² + q_d²) for a unit quaternion
            feat[5 * m, 4 * i] = -2.0
    for m in range(4):
        hom[5 * m, 15] = 1.0  # |q|² = 1
    for (row, col), terms in off.items():
        for sign, m, n in terms:  # 2·q_m·q_n = q_m·q_n + q_n·q_m (both halves of the symmetric Q)
            for a, b in ((m, n), (n, m)):
                hom[4 * a + b, 4 * row + col] = sign
                feat[4 * a + b, 3 * row + col] = sign
    features = torch.block_diag(*[feat] * (num_joints - 1)) if num_joints > 1 else torch.zeros(0, 0)
    return hom.to(device=device, dtype=dtype), features.to(device=device, dtype=dtype)


def quaternion_products(half_rotvec: torch.Tensor) -> torch.Tensor:
    """Outer products ``vec(q qᵀ)`` of the unit quaternions of axis-angle rotations.

    The quaternion is ``q = (cos h, sin(h)/h · half_rotvec)`` with ``h = |half_rotvec| = θ/2``; with
    :func:`rotation_basis` it gives the same matrix as Rodrigues' formula
    ``R = I + sin θ [k]× + (1 − cos θ) [k]×²``. Exact identity at zero angle; below 1e-12 rad the axis is
    ill-defined but the rotation stays within 1e-12 of identity.

    Args:
        half_rotvec: ``[N, 3, 1]`` half the axis-angle vectors (radians).
    Returns:
        ``[N, 16]``.
    """
    half = torch.linalg.vector_norm(half_rotvec, dim=1, keepdim=True)  # [N, 1, 1]
    q = torch.cat([torch.cos(half), half_rotvec * (torch.sin(half) / half.clamp_min(1e-12))], 1)  # [N, 4, 1]
    return (q * q.mT).view(-1, 16)


def axis_angle_to_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula ``R = I + sin θ [k]× + (1 − cos θ) [k]×²`` (see :func:`quaternion_products`).

    Args:
        rotvec: ``[..., 3]`` axis-angle vectors (radians).
    Returns:
        ``[..., 3, 3]`` rotation matrices (exact identity at zero angle).
    """
    homogeneous, _ = rotation_basis(dtype=rotvec.dtype, device=rotvec.device)
    hom = torch.mm(quaternion_products(rotvec.reshape(-1, 3, 1) * 0.5), homogeneous).view(-1, 4, 4)
    return hom[:, :3, :3].reshape(*rotvec.shape[:-1], 3, 3)


def blend(coefficients: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Linear blend shapes ``template + Σ_k c_k · direction_k`` as one product.

    Args:
        coefficients: ``[B, K + 1]``: the K blend coefficients, then a 1.
        directions: ``[K + 1, N]`` contiguous: one flattened displacement per coefficient (e.g. ``V*3`` vertex
            coordinates), then the flattened template.
    Returns:
        ``[B, N]``. With the template last, the small terms are summed first and the template's magnitude
        enters the rounding once (measured against float64 on the FLAME fixture: ≤ 8e-8 m at batch 1, 64
        and 1024; 2.5e-7 m with the template first). It also saves ``addmm``'s pass that copies a bias into
        the output before the product.
    """
    return torch.mm(coefficients, directions)


@dataclass(frozen=True)
class KinematicTree:
    """A joint hierarchy grouped for :func:`forward_kinematics` (build it with :meth:`from_parents`).

    Attributes:
        parents: length-J parent indices, ``parents[0] == -1`` and ``parents[j] < j``.
        segments: runs ``(start, stop, block, offset)`` of consecutive joints ``start..stop-1`` that share
            one parent, which is joint ``offset`` of the run number ``block`` (run 0 is the root alone).
    """

    parents: tuple[int, ...]
    segments: tuple[tuple[int, int, int, int], ...]

    @classmethod
    def from_parents(cls, parents: list[int] | tuple[int, ...]) -> KinematicTree:
        """Raises ``ValueError`` unless joint 0 is the only root and every parent precedes its child."""
        parents = tuple(int(p) for p in parents)
        if not parents or parents[0] != -1 or any(not 0 <= p < j for j, p in enumerate(parents) if j):
            raise ValueError(f"parents: expected -1 first and parents[j] < j, got {list(parents)}")
        where = {0: (0, 0)}  # joint → (run, index in run)
        segments = []
        start = 1
        while start < len(parents):
            stop = start + 1
            while stop < len(parents) and parents[stop] == parents[start]:
                stop += 1
            segments.append((start, stop, *where[parents[start]]))
            where.update({j: (len(segments), j - start) for j in range(start, stop)})
            start = stop
        return cls(parents, tuple(segments))


def forward_kinematics(
    rotations: torch.Tensor, joints: torch.Tensor, tree: KinematicTree, translation: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rigid transforms of a kinematic tree whose rest orientations are the identity.

    Each joint rotates its descendants about its own rest position by its local rotation, expressed in its
    parent's frame (which at rest is the world frame). Joint j's skinning transform is its parent's composed
    with the local ``L_j = T(j_rest) · R_j · T(−j_rest)``, so it maps rest points rigidly attached to j to
    their posed positions, and the posed joint is ``S_j · j_rest``.

    Args:
        rotations: ``[B, J, 4, 4]`` homogeneous local rotations ``[[R, 0], [0, 1]]`` (a corner within rounding
            of 1 is made exactly 1).
        joints: ``[B, J, 4, 1]`` homogeneous rest joint positions ``(x, y, z, 1)`` (meters).
        tree: the hierarchy (:class:`KinematicTree`).
        translation: optional ``[B, 3]`` meters added to the whole posed skeleton (and so to skinned points).
    Returns:
        ``(transforms [B, J, 3, 4], posed_joints [B, J, 3])``, both contiguous.
    """
    local = rotations + F.pad(joints - rotations @ joints, (3, 0))  # last column (j − R j, 0)
    if translation is not None:
        local[:, 0, :3, 3].add_(translation)
    world = [local[:, :1, :3]]
    for start, stop, block, offset in tree.segments:
        parent = world[block]
        if parent.shape[1] != 1:
            parent = parent[:, offset : offset + 1]
        world.append(parent @ local[:, start:stop])
    transforms = torch.cat(world, 1)
    return transforms, (transforms @ joints).squeeze(-1)


#: Batch items per chunk of :func:`skin` on CPU: keeps the per-vertex blended transforms in cache.
CPU_SKIN_CHUNK = 32


def skin(vertices: torch.Tensor, weights_t: torch.Tensor, transforms: torch.Tensor, *, overwrite: bool = False
         ) -> torch.Tensor:
    """Linear blend skinning ``v'_i = Σ_j w_ij (R_j v_i + t_j)``.

    Args:
        vertices: ``[B, 3, V]`` rest-pose vertices (after blend shapes and pose correctives), planar: the
            x, y and z of all vertices each contiguous, which keeps every loop long and vectorised.
        weights_t: ``[J, V]`` skinning weights (transposed; columns summing to one), contiguous.
        transforms: ``[B, J, 3, 4]`` from :func:`forward_kinematics`.
        overwrite: write the result over ``vertices`` (contiguous, not needed afterwards and not part of an
            autograd graph) instead of into new memory: at large batches that saves faulting in the pages of
            a second output-sized tensor.
    Returns:
        ``[B, V, 3]`` posed vertices, contiguous.

    The per-vertex blended matrices (:func:`skinning_matrices`) are 4× the size of the output; on CPU they
    are built a few batch items at a time so they stay in cache (same arithmetic, same result).
    """
    b, _, num_v = vertices.shape
    out = vertices.view(b, num_v, 3) if overwrite else vertices.new_empty(b, num_v, 3)
    step = CPU_SKIN_CHUNK if vertices.device.type == "cpu" else b
    for i in range(0, b, step):  # each chunk is read in full before its result is written
        chunk = slice(i, i + step)
        out[chunk] = apply_skinning(vertices[chunk], skinning_matrices(weights_t, transforms[chunk]))
    return out


def skinning_matrices(weights_t: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
    """Per-vertex blended transforms ``Σ_j w_ij [R_j | t_j]``, planar.

    Args:
        weights_t: ``[J, V]``; transforms: ``[B, J, 3, 4]``.
    Returns:
        ``[B, 3, 4, V]`` contiguous: entry ``[b, r, c, i]`` is row ``r``, column ``c`` of vertex i's matrix.
    """
    b, j = transforms.shape[:2]
    rows = transforms.reshape(b, j, 12).transpose(1, 2).reshape(b * 12, j)  # one product for the whole batch
    return torch.mm(rows, weights_t).view(b, 3, 4, -1)


def apply_skinning(vertices: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """``matrices · [vertices; 1]`` per vertex (planar ``[B, 3, V]`` and ``[B, 3, 4, V]``), as a ``[B, V, 3]``
    view of a planar result (``.contiguous()`` gives the usual layout)."""
    x, y, z = vertices.unsqueeze(1).unbind(2)  # each [B, 1, V]
    out = torch.addcmul(matrices[:, :, 3], matrices[:, :, 0], x)
    return out.addcmul_(matrices[:, :, 1], y).addcmul_(matrices[:, :, 2], z).transpose(1, 2)


def barycentric_points(vertices: torch.Tensor, faces: torch.Tensor, bary: torch.Tensor) -> torch.Tensor:
    """Points embedded in a mesh by face index and barycentric coordinates (landmarks).

    Args:
        vertices: ``[B, V, 3]``.
        faces: ``[L, 3]`` long, vertex indices of the face holding each point.
        bary: ``[L, 3]`` barycentric weights (rows sum to one).
    Returns:
        ``[B, L, 3]``.
    """
    tri = vertices[:, faces]  # [B, L, 3, 3]
    return (tri * bary.unsqueeze(0).unsqueeze(-1)).sum(2)


def embedding_table(faces: torch.Tensor, bary: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Precompute :func:`embedded_points`'s gather index and weights for points on triangles.

    Args:
        faces: ``[..., L, 3]`` long vertex indices of each point's triangle.
        bary: ``[..., L, 3]`` barycentric weights.
    Returns:
        ``(index [..., L*9] long, weights [..., L, 1, 3])``: the flat coordinate index ``3·v + c`` of each
        (point, corner, coordinate), and the weights shaped for a batched product.
    """
    coords = faces.unsqueeze(-1) * 3 + torch.arange(3, device=faces.device)  # [..., L, 3, 3]
    return coords.flatten(-3), bary.unsqueeze(-2)


def embedded_points(vertices: torch.Tensor, index: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Points on triangles, one gather for the whole batch (see :func:`embedding_table`).

    Args:
        vertices: ``[B, V, 3]`` contiguous.
        index: ``[B, L*9]`` long (per batch item, e.g. the contour row of its yaw), or ``[1, L*9]`` for all.
        weights: ``[B, L, 1, 3]``, or ``[1, L, 1, 3]`` for all.
    Returns:
        ``[B, L, 3]``: ``Σ_k weights_k · vertex_k`` of each point's triangle.
    """
    b = vertices.shape[0]
    tri = vertices.view(b, -1).gather(1, index.expand(b, -1)).view(b, -1, 3, 3)  # [B, L, corner, xyz]
    return (weights @ tri).squeeze(-2)
