# The ingester image: `ingester migrate`, `ingester run`, `ingester grafana ...`, `ingester web` (port 8080).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Chromium renders the weekly report's PDF (ingester/report/browser.py); DejaVu gives it its glyphs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Exactly what was tested: the locked dependencies (hashes checked), then the project without resolving
# anything. The wheel carries schema/ as ingester/schema (setup.py), so nothing is read from /app after this.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml setup.py MANIFEST.in README.md LICENSE ./
COPY ingester ./ingester
COPY schema ./schema
RUN pip install --no-deps . \
 && useradd --system --uid 10001 --home-dir /app pulse \
 && mkdir -p /var/lib/pulse/spool && chown -R pulse /var/lib/pulse

USER pulse
EXPOSE 9108 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=4 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=3)"
CMD ["ingester", "run", "--simulate"]
