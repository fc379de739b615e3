# The pipeline worker, for docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY stream ./stream
COPY schemas ./schemas
# openssl: the compose `secrets` service makes the cluster's certificates with it.
RUN apt-get update && apt-get install -y --no-install-recommends openssl \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir . \
 && useradd --system --uid 10001 --home-dir /app pipeline \
 && useradd --system --uid 10002 --home-dir /app api \
 && mkdir -p /data /api-data && chown pipeline /data && chown api /api-data
USER pipeline
EXPOSE 6066
CMD ["customs-stream", "worker"]
