# Proxgate: the same install steps as the README (pip install the package), as a non-root user.
FROM python:3.11-slim

# Audit checkpoints live outside the data volume, so losing (or restoring) one does not take the other along.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PROXGATE_DATA_DIR=/data PROXGATE_AUDIT_CHECKPOINT_DIR=/audit-checkpoints \
    PROXGATE_HOST=0.0.0.0 PROXGATE_PORT=8080

# ping for PROXGATE_IP_PROBE (iputils' ping carries the capability to send ICMP as the app's user).
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends iputils-ping iproute2 \
    && rm -rf /var/lib/apt/lists/*

# The data and the checkpoints are for the app's user alone; a new named volume takes these modes from the image.
RUN useradd --create-home --uid 10001 --user-group proxgate \
    && mkdir -p /data /audit-checkpoints && chown proxgate:proxgate /data /audit-checkpoints \
    && chmod 700 /data /audit-checkpoints

# What the package is built from. The installed package carries templates/, static/ and migrations/ (setup.py
# copies them into it), so `proxgate` runs from any directory, not only from this one.
WORKDIR /app
COPY pyproject.toml setup.py MANIFEST.in README.md LICENSE ./
COPY app ./app
COPY pvesim ./pvesim
COPY templates ./templates
COPY static ./static
COPY migrations ./migrations
RUN pip install '.[demo]'

USER proxgate
VOLUME ["/data", "/audit-checkpoints"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"

# Migrations run first (explicitly, so a failure is visible), then uvicorn serves the app.
CMD ["sh", "-c", "proxgate migrate && exec proxgate serve --host 0.0.0.0 --port 8080"]
