"""A fast local upstream that speaks OpenAI chat completions (whole and SSE) and fails on purpose.

    python bench/upstream.py --port 0 [--fail 0.2] [--stall 0.05] [--latency-ms 20] [--chunks 20]

Prints "listening PORT" once ready. Failures are HTTP 500 with OpenAI's error body; a stall holds the
request without answering until the client gives up. Seeded, so runs are repeatable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys

RESPONSE = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1769092764,
    "model": "bench-model",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello from the bench upstream."},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 25,
        "completion_tokens": 7,
        "total_tokens": 32,
        "prompt_tokens_details": {"cached_tokens": 0},
    },
}
ERROR = {
    "error": {
        "message": "The server had an error while processing your request.",
        "type": "server_error",
        "param": None,
        "code": None,
    }
}


def chunk(delta: dict[str, object], finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1769092764,
        "model": "bench-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if usage is None else [],
        "usage": usage,
    }
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


class Upstream:
    def __init__(
        self, fail: float, stall: float, latency_s: float, chunks: int, chunk_delay_s: float, seed: int
    ) -> None:
        self.fail, self.stall, self.latency_s = fail, stall, latency_s
        self.chunks, self.chunk_delay_s = chunks, chunk_delay_s
        self.rng = random.Random(seed)
        whole = json.dumps(RESPONSE).encode()
        self.whole = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
            len(whole),
            whole,
        )
        err = json.dumps(ERROR).encode()
        self.error = (
            b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (len(err), err)
        )
        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": f" w{i}"}) for i in range(chunks)]
        events += [
            chunk({}, "stop"),
            chunk({}, usage={"prompt_tokens": 25, "completion_tokens": chunks, "total_tokens": 25 + chunks}),
            b"data: [DONE]\n\n",
        ]
        self.events = events

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
                roll = self.rng.random()
                if roll < self.stall:
                    await reader.read()  # hold until the client closes
                    return
                if self.latency_s:
                    await asyncio.sleep(self.latency_s)
                if roll < self.stall + self.fail:
                    writer.write(self.error)
                elif b'"stream":true' in body or b'"stream": true' in body:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                    )
                    for event in self.events:
                        writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                        if self.chunk_delay_s:
                            await writer.drain()
                            await asyncio.sleep(self.chunk_delay_s)
                    writer.write(b"0\r\n\r\n")
                else:
                    writer.write(self.whole)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fail", type=float, default=0.0)
    parser.add_argument("--stall", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    upstream = Upstream(
        args.fail, args.stall, args.latency_ms / 1000, args.chunks, args.chunk_delay_ms / 1000, args.seed
    )
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", args.port, backlog=4096)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
