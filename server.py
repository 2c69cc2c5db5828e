"""Run the assetgen gRPC server: ``python server.py [--host 127.0.0.1] [--port 50051] [--max-concurrency N]
[--device auto|cpu|cuda] [--auth-token-file F] [--tls-cert C --tls-key K] [--flame PATH ...] [--grace S]
[--crowd-parallelism N] [--batch-textures auto|on|off] [--batch-window-ms MS] [--max-batch N]``.

Serves ``assetgen.v1.AssetGenerator`` (DescribeModels, GenerateAsset, GenerateCrowd, RenderPortrait, Animate),
``grpc.health.v1.Health`` and server reflection. SIGTERM/SIGINT stop it gracefully: health turns NOT_SERVING, new
calls are refused and in-flight calls get ``--grace`` seconds to finish. With ``--batch-textures`` on (the default
on CUDA) concurrent heads make their textures in shared GPU batches: the batcher collects for ``--batch-window-ms``
(default 5) and at most ``--max-batch`` heads (default 32); see :mod:`assetgen.service.batching`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=50051, help="port to bind; 0 picks a free one (default 50051)")
    p.add_argument("--max-concurrency", type=int, default=4,
                   help="concurrent GenerateAsset streams; more get RESOURCE_EXHAUSTED (default 4)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where to compute")
    p.add_argument("--auth-token-file", type=Path, default=None,
                   help="file holding a bearer token every AssetGenerator call must send "
                        "(metadata 'authorization: Bearer <token>')")
    p.add_argument("--tls-cert", type=Path, default=None, help="PEM certificate chain: serve TLS (with --tls-key)")
    p.add_argument("--tls-key", type=Path, default=None, help="PEM private key of --tls-cert")
    p.add_argument("--flame", type=Path, action="append", default=[],
                   help="a FLAME model file (or folder) to serve next to the open head; repeatable. Its model id "
                        "(flame:<sha256 prefix>) is listed by DescribeModels")
    p.add_argument("--blender", default=None, help="Blender executable for FBX export (default: search PATH)")
    p.add_argument("--max-request-bytes", type=int, default=4 << 20,
                   help="largest request message; larger ones get RESOURCE_EXHAUSTED (default 4 MiB)")
    p.add_argument("--grace", type=float, default=10.0, help="seconds in-flight calls get on shutdown")
    p.add_argument("--crowd-parallelism", type=int, default=None, metavar="N",
                   help="heads one GenerateCrowd call builds at once (default: --max-concurrency, at most the CPU "
                        "cores; 1: one after another)")
    p.add_argument("--batch-textures", choices=("auto", "on", "off"), default="auto",
                   help="make concurrent requests' textures in shared batches (auto: on for CUDA, off for CPU)")
    p.add_argument("--batch-window-ms", type=float, default=5.0, metavar="MS",
                   help="how long a texture batch waits for more requests after its first (default 5 ms)")
    p.add_argument("--max-batch", type=int, default=32, metavar="N", help="most heads per texture batch (default 32)")
    return p.parse_args(argv)


def batching_note(service, settings) -> str:
    if service.batcher is None:
        return ", texture batching off"
    return f", texture batches of ≤ {settings.max_batch} over {settings.batch_window_ms:g} ms"


async def serve(args: argparse.Namespace) -> None:
    from assetgen.service.server import ServerSettings, create_server, stop_server

    token = args.auth_token_file.read_text().strip() if args.auth_token_file else None
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    settings = ServerSettings(max_concurrency=args.max_concurrency, device=args.device, grace_s=args.grace,
                              auth_token=token, tls_cert=args.tls_cert, tls_key=args.tls_key,
                              flame_models=tuple(args.flame), blender=args.blender,
                              max_request_bytes=args.max_request_bytes, crowd_parallelism=args.crowd_parallelism,
                              batch_textures={"auto": None, "on": True, "off": False}[args.batch_textures],
                              batch_window_ms=args.batch_window_ms, max_batch=args.max_batch)
    server, port = await create_server(args.host, args.port, settings)
    print(f"[server] assetgen.v1.AssetGenerator on {args.host}:{port} (device "
          f"{server.assetgen_service.device}, max concurrency {settings.max_concurrency}, crowd parallelism "
          f"{server.assetgen_service.crowd_parallelism}"
          f"{batching_note(server.assetgen_service, settings)}"
          f"{', bearer auth' if token else ''}{', TLS' if args.tls_cert else ''}"
          f"{', models ' + ', '.join(['open', *server.assetgen_service.generate.models]) if args.flame else ''})",
          flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print(f"[server] shutting down (grace {settings.grace_s:g} s)", flush=True)
    await stop_server(server, settings.grace_s)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except (OSError, ValueError) as exc:
        print(f"[server] error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
