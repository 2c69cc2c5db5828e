"""Load benchmark of the gRPC service (issue 7): 1/8/32 concurrent clients over a real local port.

``python benchmarks/bench_service.py [--clients 1 8 32] [--requests 16] [--kind mesh full] [--device cpu]``

Per (kind, clients): requests/s, p50 and p99 latency of GenerateAsset, errors by status code, and the p99 of
``grpc.health.v1.Health/Check`` sent every 20 ms while loaded. ``mesh``: 64-texel textures, one LOD, no preview
(the service overhead plus the mesh); ``full``: the default asset (1024 textures, 3 LODs, 512 preview). The
server's ``--max-concurrency`` is raised to the client count, so nothing is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

from assetgen.service import protos  # noqa: E402
from assetgen.service.server import ServerSettings, create_server, stop_server  # noqa: E402
from benchmarks.common import machine  # noqa: E402

pb2, pb2_grpc = protos.load()
KINDS = {"mesh": pb2.ExportOptions(texture_size=64, lods=1, preview_size=0), "full": pb2.ExportOptions()}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run(target: str, kind: str, clients: int, requests: int) -> dict:
    lat, errors, lock = [], {}, threading.Lock()
    health_lat, stop = [], threading.Event()
    counter = iter(range(10**9))

    def worker():
        with grpc.insecure_channel(target) as ch:
            stub = pb2_grpc.AssetGeneratorStub(ch)
            while True:
                with lock:
                    i = next(counter)
                if i >= requests:
                    return
                t0 = time.perf_counter()
                try:
                    for _ in stub.GenerateAsset(pb2.GenerateAssetRequest(seed=i, export=KINDS[kind]), timeout=600):
                        pass
                    with lock:
                        lat.append(time.perf_counter() - t0)
                except grpc.RpcError as exc:
                    with lock:
                        errors[exc.code().name] = errors.get(exc.code().name, 0) + 1

    def health():
        with grpc.insecure_channel(target) as ch:
            stub = health_pb2_grpc.HealthStub(ch)
            while not stop.is_set():
                t0 = time.perf_counter()
                stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
                health_lat.append(time.perf_counter() - t0)
                time.sleep(0.02)

    h = threading.Thread(target=health, daemon=True)
    h.start()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    stop.set()
    h.join(5)
    return {"kind": kind, "clients": clients, "requests": requests, "ok": len(lat), "errors": errors,
            "req_per_s": len(lat) / wall, "p50_s": _pct(lat, 0.5), "p99_s": _pct(lat, 0.99),
            "health_p99_ms": 1000 * _pct(health_lat, 0.99), "health_checks": len(health_lat)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--requests", type=int, default=16, help="GenerateAsset calls per (kind, clients) run")
    p.add_argument("--kind", nargs="+", choices=sorted(KINDS), default=["mesh", "full"])
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    p.add_argument("--workers", type=int, default=None, help="server generation threads (default: CPU count)")
    p.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = p.parse_args(argv)
    import os

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    settings = ServerSettings(max_concurrency=max(args.clients), device=args.device,
                              workers=args.workers or os.cpu_count() or 2)
    server, port = asyncio.run_coroutine_threadsafe(create_server("127.0.0.1", 0, settings), loop).result(300)
    target = f"127.0.0.1:{port}"
    print(f"[bench_service] {machine(server.assetgen_service.device)}; server workers {settings.workers}")
    run(target, "mesh", 1, 2)  # warm-up: models loaded, caches filled
    rows = []
    for kind in args.kind:
        for clients in args.clients:
            row = run(target, kind, clients, max(args.requests, clients))
            rows.append(row)
            print(f"  {kind:4s} clients {clients:2d}: {row['req_per_s']:6.2f} req/s  p50 {row['p50_s']:6.3f} s  "
                  f"p99 {row['p99_s']:6.3f} s  errors {row['errors'] or 0}  health p99 "
                  f"{row['health_p99_ms']:.1f} ms ({row['health_checks']} checks)", flush=True)
    asyncio.run_coroutine_threadsafe(stop_server(server, 1.0), loop).result(60)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
