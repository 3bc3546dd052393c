# syntax=docker/dockerfile:1
# Multi-stage: build wheels and the health probe, then a slim runtime as a non-root user.

FROM golang:1.26-bookworm AS probe
RUN GOBIN=/out go install github.com/grpc-ecosystem/grpc-health-probe@v0.4.62

# The compiled hot loops (native/): an abi3 wheel for CPython 3.11+ (bookworm's python3 is 3.11).
FROM rust:1-bookworm AS native
RUN apt-get update && apt-get install -y --no-install-recommends python3-venv \
 && python3 -m venv /venv && /venv/bin/pip install --no-cache-dir "maturin>=1.9,<2"
COPY native /src/native
RUN /venv/bin/maturin build --release --manifest-path /src/native/Cargo.toml --out /wheels

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY clients/python /src/clients/python
COPY pyproject.toml README.md /src/
COPY router_service /src/router_service
RUN pip wheel --no-cache-dir --wheel-dir /wheels ./clients/python . 
COPY --from=native /wheels /wheels

FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LLM_ROUTER_LISTEN=0.0.0.0:50051
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin router
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY --from=probe /out/grpc-health-probe /usr/local/bin/grpc-health-probe
USER 10001:10001
# 50051: gRPC; 9464: admin (metrics, dashboard), loopback unless the config says admin.listen 0.0.0.0:9464
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["grpc-health-probe", "-addr=127.0.0.1:50051"]
ENTRYPOINT ["llm-router"]
CMD ["serve"]
