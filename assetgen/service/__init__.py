"""The gRPC service (issue 7): ``assetgen.v1.AssetGenerator`` from ``proto/assetgen/v1/assetgen.proto``.

:mod:`~assetgen.service.protos` generates the stubs (never committed); :mod:`~assetgen.service.requests`
validates requests and builds bundles; :mod:`~assetgen.service.server` is the ``grpc.aio`` server
(``create_server``). Run it with ``python server.py``.
"""
