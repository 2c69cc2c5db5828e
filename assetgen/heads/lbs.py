"""Pure tensor functions of the linear-blend head models (the lower of the two layers, as in smplx).

Everything here is stateless and batched; shapes are given as ``[B, V, 3]`` (batch, vertices, xyz).
Positions are in meters and angles in radians. No function here validates user input: the public
``HeadModel.forward`` does that once, and these functions are the hot path.

The equations are the standard 3DMM forward of FLAME (Li et al. 2017), which paper 003 (AlbedoGAN, §3)
builds on:  T_P(β, ψ, θ) = T̄ + B_S(β) + B_E(ψ) + B_P(θ);  J(β, ψ) = 𝒥 (T̄ + B_S + B_E);
M = W(T_P, J, θ, 𝒲)  (linear blend skinning).
"""

from __future__ import annotations

import torch


def axis_angle_to_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula ``R = I + sin θ [k]× + (1 − cos θ) [k]×²``.

    Args:
        rotvec: ``[..., 3]`` axis-angle vectors (radians).
    Returns:
        ``[..., 3, 3]`` rotation matrices. Exact (identity) at zero angle; below 1e-12 rad the axis is
        ill-defined but ``sin θ`` and ``1 − cos θ`` vanish, so the result stays within 1e-12 of identity.
    """
    angle = torch.linalg.vector_norm(rotvec, dim=-1, keepdim=True)
    axis = rotvec / angle.clamp_min(1e-12)
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).unflatten(-1, (3, 3))
    eye = torch.eye(3, dtype=rotvec.dtype, device=rotvec.device)
    return torch.addcmul(eye + torch.sin(angle).unsqueeze(-1) * k, (1.0 - torch.cos(angle)).unsqueeze(-1), k @ k)


def blend(template: torch.Tensor, coefficients: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Linear blend shapes ``template + coefficients @ directions``.

    Args:
        template: ``[N]`` flattened rest values (e.g. ``V*3`` vertex coordinates).
        coefficients: ``[B, K]``.
        directions: ``[K, N]`` flattened displacement per coefficient.
    Returns:
        ``[B, N]``.
    """
    return torch.addmm(template.unsqueeze(0), coefficients, directions)


def forward_kinematics(
    rotations: torch.Tensor, joints: torch.Tensor, parents: list[int], translation: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rigid transforms of a kinematic tree whose rest orientations are the identity.

    Each joint rotates its descendants about its own rest position by ``rotations[:, j]``, expressed
    in its parent's frame (which at rest is the world frame). Joint 0 is the root.

    Args:
        rotations: ``[B, J, 3, 3]`` local rotations.
        joints: ``[B, J, 3]`` rest joint positions (meters).
        parents: length-J parent indices; ``parents[0] == -1`` and ``parents[j] < j``.
        translation: optional ``[B, 3]`` meters added to the whole posed skeleton (and so to skinned points).
    Returns:
        ``(posed_joints [B, J, 3], transforms [B, J, 3, 4])`` where ``transforms`` maps a rest-pose point
        rigidly attached to joint j to its posed position (the skinning matrices, ``G_j · [I | -j_rest]``).
    """
    world_rot = [rotations[:, 0]]
    root = joints[:, 0] if translation is None else joints[:, 0] + translation
    world_pos = [root.unsqueeze(-1)]
    for j in range(1, len(parents)):
        p = parents[j]
        offset = (joints[:, j] - joints[:, p]).unsqueeze(-1)
        world_pos.append(torch.baddbmm(world_pos[p], world_rot[p], offset))
        world_rot.append(torch.bmm(world_rot[p], rotations[:, j]))
    rot = torch.stack(world_rot, dim=1)
    posed = torch.stack(world_pos, dim=1)  # [B, J, 3, 1]
    trans = posed - rot @ joints.unsqueeze(-1)
    return posed.squeeze(-1), torch.cat([rot, trans], dim=-1)


#: Batch items per chunk of :func:`skin` on CPU: keeps the per-vertex blended transforms in cache.
CPU_SKIN_CHUNK = 16


def skin(vertices: torch.Tensor, weights: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
    """Linear blend skinning ``v'_i = Σ_j w_ij (R_j v_i + t_j)``.

    Args:
        vertices: ``[B, V, 3]`` rest-pose vertices (after blend shapes and pose correctives).
        weights: ``[V, J]`` skinning weights, rows summing to one.
        transforms: ``[B, J, 3, 4]`` from :func:`forward_kinematics`.
    Returns:
        ``[B, V, 3]`` posed vertices.

    The per-vertex blended matrices ``[B, V, 3, 4]`` are 4× the size of the output; on CPU they are built
    a few batch items at a time so they stay in cache (same arithmetic, same result).
    """
    b = vertices.shape[0]
    if vertices.device.type == "cpu" and b > CPU_SKIN_CHUNK:
        return torch.cat([_skin(vertices[i : i + CPU_SKIN_CHUNK], weights, transforms[i : i + CPU_SKIN_CHUNK])
                          for i in range(0, b, CPU_SKIN_CHUNK)])
    return _skin(vertices, weights, transforms)


def _skin(vertices: torch.Tensor, weights: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
    b, j = transforms.shape[:2]
    blended = torch.matmul(weights, transforms.reshape(b, j, 12)).reshape(b, -1, 3, 4)
    x, y, z = vertices.unsqueeze(-2).unbind(-1)  # each [B, V, 1]
    out = torch.addcmul(blended[..., 3], blended[..., 0], x)
    return out.addcmul_(blended[..., 1], y).addcmul_(blended[..., 2], z)


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
