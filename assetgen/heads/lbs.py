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
    """Rodrigues' formula.

    Args:
        rotvec: ``[..., 3]`` axis-angle vectors (radians).
    Returns:
        ``[..., 3, 3]`` rotation matrices. Exact at zero angle (no division by zero, finite gradient).
    """
    angle_sq = (rotvec * rotvec).sum(-1, keepdim=True)
    angle = torch.sqrt(angle_sq.clamp_min(1e-30))
    small = angle_sq < 1e-12
    # sin(θ)/θ and (1-cos θ)/θ² with Taylor fallbacks near zero.
    sinc = torch.where(small, 1.0 - angle_sq / 6.0, torch.sin(angle) / angle)
    cosc = torch.where(small, 0.5 - angle_sq / 24.0, (1.0 - torch.cos(angle)) / angle_sq.clamp_min(1e-30))
    x, y, z = rotvec.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(rotvec.shape[:-1] + (3, 3))
    eye = torch.eye(3, dtype=rotvec.dtype, device=rotvec.device)
    kk = k @ k
    return eye + sinc[..., None] * k + cosc[..., None] * kk


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
    rotations: torch.Tensor, joints: torch.Tensor, parents: list[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rigid transforms of a kinematic tree whose rest orientations are the identity.

    Each joint rotates its descendants about its own rest position by ``rotations[:, j]``, expressed
    in its parent's frame (which at rest is the world frame). Joint 0 is the root.

    Args:
        rotations: ``[B, J, 3, 3]`` local rotations.
        joints: ``[B, J, 3]`` rest joint positions (meters).
        parents: length-J parent indices; ``parents[0] == -1`` and ``parents[j] < j``.
    Returns:
        ``(posed_joints [B, J, 3], transforms [B, J, 3, 4])`` where ``transforms`` maps a rest-pose point
        rigidly attached to joint j to its posed position (the skinning matrices, ``G_j · [I | -j_rest]``).
    """
    world_rot = [rotations[:, 0]]
    world_pos = [joints[:, 0]]
    for j in range(1, len(parents)):
        p = parents[j]
        offset = joints[:, j] - joints[:, p]
        world_pos.append(world_pos[p] + (world_rot[p] @ offset.unsqueeze(-1)).squeeze(-1))
        world_rot.append(world_rot[p] @ rotations[:, j])
    rot = torch.stack(world_rot, dim=1)
    posed = torch.stack(world_pos, dim=1)
    trans = posed - (rot @ joints.unsqueeze(-1)).squeeze(-1)
    return posed, torch.cat([rot, trans.unsqueeze(-1)], dim=-1)


def skin(vertices: torch.Tensor, weights: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
    """Linear blend skinning.

    Args:
        vertices: ``[B, V, 3]`` rest-pose vertices (after blend shapes and pose correctives).
        weights: ``[V, J]`` skinning weights, rows summing to one.
        transforms: ``[B, J, 3, 4]`` from :func:`forward_kinematics`.
    Returns:
        ``[B, V, 3]`` posed vertices.
    """
    b, j = transforms.shape[:2]
    blended = torch.matmul(weights, transforms.reshape(b, j, 12)).reshape(b, -1, 3, 4)
    return (blended[..., :3] @ vertices.unsqueeze(-1)).squeeze(-1) + blended[..., 3]


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
