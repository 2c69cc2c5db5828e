"""Load benchmark of the gRPC service (issue 7): 1/8/32 concurrent clients over a real local port.

``python benchmarks/bench_service.py [--clients 1 8 32] [--requests 16] [--kind mesh full] [--device cpu]``
``python benchmarks/bench_service.py --crowd 8 --crowd-parallelism 1 2 --repeat 3 --kind mesh full --clients``
``python benchmarks/bench_service.py --device cuda --batch off on --batch-window-ms 5 --max-batch 32 --clients 1 8 32``

Per (kind, clients): requests/s, p50 and p99 latency of GenerateAsset, errors by status code, and the p99 of
``grpc.health.v1.Health/Check`` sent every 20 ms while loaded. ``mesh``: 64-texel textures, one LOD, no preview
(the service overhead plus the mesh); ``full``: the default asset (1024 textures, 3 LODs, 512 preview). The
server's ``--max-concurrency`` is raised to the client count, so nothing is refused.

``--batch off on``: one server per value (``auto``: on for CUDA, off for CPU), each run on each; with batching on
(``--batch-window-ms``, ``--max-batch``) concurrent requests make their textures in shared batches
(:mod:`assetgen.service.batching`), and each row also reports the texture batches the run formed (count and mean
size). ``--workers`` defaults to the client count when batching is on (a request only joins a batch while a
thread runs it).

``--crowd N``: per (kind, crowd parallelism), GenerateCrowd calls of N heads from one client (after a warm-up
crowd): heads/s, seconds to the first head, and the health p99 while it runs; ``--repeat`` rounds alternate
between the values and the median heads/s is reported. Parallelism 1 builds the heads one after another (what the
server did before heads were built in parallel); each value gets its own server.
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


def _batch_delta(service, before: dict) -> dict:
    after = service.batching_stats()
    if not after:
        return {"batches": 0, "mean_batch": 0.0, "max_batch": 0}
    batches = after["batches"] - before.get("batches", 0)
    heads = after["heads"] - before.get("heads", 0)
    return {"batches": batches, "mean_batch": heads / batches if batches else 0.0, "max_batch": after["max_batch"]}


def _health_probe(target: str, latencies: list, stop: threading.Event) -> threading.Thread:
    """A started thread that checks health every 20 ms until ``stop``, appending each latency (s)."""

    def probe():
        with grpc.insecure_channel(target) as ch:
            stub = health_pb2_grpc.HealthStub(ch)
            while not stop.is_set():
                t0 = time.perf_counter()
                stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
                latencies.append(time.perf_counter() - t0)
                time.sleep(0.02)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    return thread


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

    h = _health_probe(target, health_lat, stop)
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


def run_crowd(target: str, kind: str, count: int, seed: int = 1000) -> dict:
    """One GenerateCrowd call of ``count`` heads: heads/s, time to the first head, health p99 meanwhile."""
    health_lat, stop = [], threading.Event()

    h = _health_probe(target, health_lat, stop)
    heads, first, order = set(), None, []
    with grpc.insecure_channel(target) as ch:
        stub = pb2_grpc.AssetGeneratorStub(ch)
        t0 = time.perf_counter()
        for c in stub.GenerateCrowd(pb2.GenerateCrowdRequest(seed=seed, count=count, export=KINDS[kind]),
                                    timeout=3600):
            if c.head_index not in heads:
                heads.add(c.head_index)
                order.append(c.head_index)
                first = first if first is not None else time.perf_counter() - t0
        wall = time.perf_counter() - t0
    stop.set()
    h.join(5)
    return {"kind": kind, "count": count, "heads": len(heads), "wall_s": wall, "heads_per_s": len(heads) / wall,
            "first_head_s": first, "order": order, "health_p99_ms": 1000 * _pct(health_lat, 0.99)}


def _start(loop, settings: ServerSettings):
    server, port = asyncio.run_coroutine_threadsafe(create_server("127.0.0.1", 0, settings), loop).result(300)
    return server, f"127.0.0.1:{port}"


def crowd_rows(loop, args, workers: int) -> list[dict]:
    """One server per crowd parallelism value, all up at once; the runs alternate between them (``--repeat``
    rounds), so a noisy shared machine hits every value alike. Summary rows carry the median heads/s."""
    servers = {}
    for width in args.crowd_parallelism:
        settings = ServerSettings(max_concurrency=4, device=args.device, workers=max(workers, width),
                                  crowd_parallelism=width)
        servers[width] = _start(loop, settings)
        run_crowd(servers[width][1], "mesh", 2, seed=1)  # warm-up
    rows = []
    for kind in args.kind:
        runs: dict[int, list[dict]] = {w: [] for w in servers}
        for _ in range(args.repeat):
            for width, (server, target) in servers.items():
                row = {**run_crowd(target, kind, args.crowd), "crowd_parallelism": width,
                       "workers": server.assetgen_service.settings.workers}
                runs[width].append(row)
                print(f"  crowd {kind:4s} x{row['heads']:2d} parallelism {width}: {row['heads_per_s']:6.3f} heads/s  "
                      f"wall {row['wall_s']:6.2f} s  first head {row['first_head_s']:5.2f} s  health p99 "
                      f"{row['health_p99_ms']:.1f} ms  order {row['order']}", flush=True)
        for width, rs in runs.items():
            med = statistics.median(r["heads_per_s"] for r in rs)
            rows.append({"kind": kind, "crowd_parallelism": width, "count": args.crowd, "runs": rs,
                         "median_heads_per_s": med})
            print(f"  crowd {kind:4s} parallelism {width}: median {med:.3f} heads/s over {len(rs)} runs "
                  f"({', '.join(format(r['heads_per_s'], '.3f') for r in rs)})", flush=True)
    for server, _ in servers.values():
        asyncio.run_coroutine_threadsafe(stop_server(server, 1.0), loop).result(60)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, nargs="*", default=[1, 8, 32], help="client counts ('--clients' alone: "
                   "no GenerateAsset runs)")
    p.add_argument("--requests", type=int, default=16, help="GenerateAsset calls per (kind, clients) run")
    p.add_argument("--kind", nargs="+", choices=sorted(KINDS), default=["mesh", "full"])
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    p.add_argument("--workers", type=int, default=None, help="server generation threads (default: CPU count)")
    p.add_argument("--json", type=Path, default=None, help="also write the rows here")
    p.add_argument("--crowd", type=int, default=0, metavar="N", help="also time one GenerateCrowd of N heads")
    p.add_argument("--crowd-parallelism", type=int, nargs="+", default=[1, 2],
                   help="crowd parallelism values to compare (default 1 2)")
    p.add_argument("--repeat", type=int, default=3, help="crowd runs per (kind, parallelism), alternated")
    p.add_argument("--batch", nargs="+", choices=("auto", "on", "off"), default=["auto"],
                   help="texture batching of the GenerateAsset runs; several values: one server each (default auto)")
    p.add_argument("--batch-window-ms", type=float, default=5.0, help="batching window (default 5 ms)")
    p.add_argument("--max-batch", type=int, default=32, help="most heads per texture batch (default 32)")
    args = p.parse_args(argv)
    import os

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    workers = args.workers or os.cpu_count() or 2
    rows = []
    if args.crowd:
        print(f"[bench_service] {machine(args.device if args.device != 'auto' else 'cpu')}", flush=True)
        rows += crowd_rows(loop, args, workers)
    if not args.clients:
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2) + "\n")
        return 0
    for batch in args.batch:
        batch_textures = {"auto": None, "on": True, "off": False}[batch]
        on = batch_textures if batch_textures is not None else args.device == "cuda"
        settings = ServerSettings(max_concurrency=max(args.clients), device=args.device,
                                  workers=max(workers, max(args.clients)) if on and not args.workers else workers,
                                  batch_textures=batch_textures, batch_window_ms=args.batch_window_ms,
                                  max_batch=args.max_batch)
        server, target = _start(loop, settings)
        service = server.assetgen_service
        note = f"on (window {args.batch_window_ms:g} ms, max {args.max_batch})" if service.batcher else "off"
        print(f"[bench_service] {machine(service.device)}; server workers {settings.workers}; texture batching "
              f"{note}", flush=True)
        run(target, "mesh", 1, 2)  # warm-up: models loaded, caches filled
        if "full" in args.kind:
            run(target, "full", 1, 1)
        for kind in args.kind:
            for clients in args.clients:
                before = service.batching_stats()
                row = run(target, kind, clients, max(args.requests, clients))
                row.update(batching="on" if service.batcher else "off", **_batch_delta(service, before))
                rows.append(row)
                print(f"  {kind:4s} clients {clients:2d} batching {row['batching']:3s}: {row['req_per_s']:6.2f} req/s  "
                      f"p50 {row['p50_s']:6.3f} s  p99 {row['p99_s']:6.3f} s  errors {row['errors'] or 0}  health p99 "
                      f"{row['health_p99_ms']:.1f} ms ({row['health_checks']} checks)  texture batches "
                      f"{row['batches']} (mean {row['mean_batch']:.1f}, max {row['max_batch']})", flush=True)
        asyncio.run_coroutine_threadsafe(stop_server(server, 1.0), loop).result(60)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
