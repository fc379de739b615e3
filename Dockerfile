# The pipeline worker, for docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY stream ./stream
COPY schemas ./schemas
RUN pip install --no-cache-dir . \
 && useradd --system --uid 10001 --home-dir /app pipeline \
 && mkdir -p /data && chown pipeline /data
USER pipeline
EXPOSE 6066
CMD ["customs-stream", "worker"]
