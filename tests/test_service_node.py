"""A client in another language: Node ``@grpc/grpc-js`` + ``@grpc/proto-loader`` (pinned in tests/js) calls
DescribeModels and GenerateAsset on a real server over a real port, from the same proto."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from assetgen.client import AssetGenClient
from assetgen.service.protos import PROTO_ROOT
from assetgen.service.server import ServerSettings
from service_fixture import RunningServer

JS = Path(__file__).resolve().parent / "js"


@pytest.mark.skipif(shutil.which("node") is None or not (JS / "node_modules" / "@grpc" / "grpc-js").is_dir(),
                    reason="needs node and `npm ci --prefix tests/js` (@grpc/grpc-js, @grpc/proto-loader)")
def test_node_client_describe_and_generate():
    srv = RunningServer(ServerSettings(max_concurrency=2, device="cpu"))
    try:
        out = subprocess.run(["node", str(JS / "grpc_client.mjs"), str(PROTO_ROOT), srv.target], capture_output=True,
                             text=True, timeout=240, cwd=JS)
        assert out.returncode == 0, out.stderr[-3000:]
        doc = json.loads(out.stdout.strip().splitlines()[-1])
        assert doc["models"] == ["open"] and "GenerateAsset" in doc["rpcs"]
        assert doc["header_matches"] and doc["bad_request"] == "INVALID_ARGUMENT"
        with AssetGenClient(srv.target, timeout_s=120) as c:  # the Python client receives the same bytes
            header, files = c.generate_files(seed=7, psi=0.7, export=dict(texture_size=64, lods=1, preview_size=32))
        assert doc["spec_hash"] == header.spec_hash
        assert {p: (len(b), hashlib.sha256(b).hexdigest()) for p, b in files.items()} == {
            p: (f["size"], f["sha256"]) for p, f in doc["files"].items()}
    finally:
        srv.close()
