"""A trivial grpc.aio echo server (parses a RouteRequest and returns it): the Python gRPC floor.

python bench/echo_server.py 127.0.0.1:50099
"""

from __future__ import annotations

import asyncio
import sys

import grpc
from llmrouter.v1 import router_pb2 as pb


async def echo(request: pb.RouteRequest, context: grpc.aio.ServicerContext) -> pb.RouteRequest:  # type: ignore[type-arg]
    return request


async def main(address: str) -> None:
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "bench.v1.EchoService",
        {
            "Echo": grpc.unary_unary_rpc_method_handler(
                echo,
                request_deserializer=pb.RouteRequest.FromString,
                response_serializer=pb.RouteRequest.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(address)
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
