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
# Editable install: the migrate runner reads schema/ next to the package (ingester/migrate.py).
COPY pyproject.toml README.md ./
COPY ingester ./ingester
COPY schema ./schema
RUN pip install -e . \
 && useradd --system --uid 10001 --home-dir /app pulse \
 && mkdir -p /var/lib/pulse/spool && chown -R pulse /var/lib/pulse

USER pulse
EXPOSE 9108 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=4 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=3)"
CMD ["ingester", "run", "--simulate"]
