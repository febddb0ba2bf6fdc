# Scoring API image (also runs `fraud worker`): a builder stage makes /opt/venv, the runtime stage copies only it.
# Targets: `service` (the default: it is the LAST stage, so plain `docker build` makes it; keep it last) and
# `lambda` (the drift-check Lambda: the same runtime plus the AWS Lambda runtime interface client).
#
# The base is pinned by exact tag, not digest: digests cannot be resolved on the offline machine this was
# written on. Pin the digest (`python:3.11.14-slim-bookworm@sha256:...`) when a registry is reachable.
# No `# syntax=` line: it would pull a BuildKit frontend image by a floating tag at every build.
# Both stages must use the same base: the venv's interpreter is a symlink to /usr/local/bin/python3.11.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder

# Where pip finds packages: PyPI unless these are given. A machine that cannot reach the index builds from a
# folder of wheels made on the host and mounted for the build (what tests/image does with podman):
#   --build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/wheels --volume "$PWD/wheelhouse:/wheels:ro"
# Unset build arguments stay out of the environment, so a plain `docker build` uses PyPI.
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS

# Bytecode is written here on purpose: pip compiles every module at install time, so the read-only venv of the
# runtime stage (owned by root, run as 10001) starts without compiling mlflow, prefect and friends each time.
ENV PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /build
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# Dependencies first, from pyproject's runtime list pinned by constraints.txt (which also pins dev tools that
# must not reach the image), so a change under src/ reuses this layer instead of reinstalling everything.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip install --no-cache-dir -c constraints.txt -r requirements.txt

# Then the project itself: its dependencies are already satisfied, so only the package is built and installed.
COPY README.md LICENSE ./
COPY src/ src/
RUN pip install --no-cache-dir -c constraints.txt .


FROM ${PYTHON_IMAGE} AS runtime

# LightGBM's shared library links against GNU OpenMP. The version is the one bookworm ships; a Debian point
# release that supersedes it fails this step loudly rather than drifting silently.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1=12.2.0-14+deb12u1 \
    && rm -rf /var/lib/apt/lists/*

# Fixed IDs so volume ownership is the same on every host and in every orchestrator. The home is its user's
# alone (0700, as `fraud` creates one): its databases and captured rows are written 0644 inside it.
RUN groupadd --system --gid 10001 fraud \
    && useradd --system --uid 10001 --gid fraud --home-dir /var/lib/fraud --no-create-home \
        --shell /usr/sbin/nologin fraud \
    && mkdir -p /var/lib/fraud \
    && chown fraud:fraud /var/lib/fraud \
    && chmod 0700 /var/lib/fraud

COPY --from=builder /opt/venv /opt/venv

# The commit the image is built from (release.yml passes it), tagged on each training run: an installed
# package has no git checkout to read it from. Empty (a local build) means unknown.
ARG CODE_COMMIT=""
ENV PATH=/opt/venv/bin:$PATH \
    FRAUD_CODE_COMMIT=${CODE_COMMIT} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FRAUD_HOME=/var/lib/fraud \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=true \
    PREFECT_SERVER_ANALYTICS_ENABLED=false

WORKDIR /var/lib/fraud
USER 10001:10001


# The drift Lambda (`docker build --target lambda`, pushed as `<sha>-lambda`). awslambdaric is installed here and
# not in pyproject: only this image talks to the Lambda Runtime API. Its two dependencies are pinned alongside it.
FROM runtime AS lambda

ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
USER 0:0
RUN pip install --no-cache-dir awslambdaric==4.2.2 simplejson==4.3.0 snapshot-restore-py==1.0.0
USER 10001:10001

# Lambda mounts the image read-only except /tmp: the embedded-mode home and matplotlib's cache (drift charts) go there.
# No HEALTHCHECK: Lambda ignores it, and the inherited one would probe an API this image does not serve.
ENV FRAUD_HOME=/tmp/fraud \
    MPLCONFIGDIR=/tmp/matplotlib
HEALTHCHECK NONE

ENTRYPOINT ["python", "-m", "awslambdaric"]
CMD ["fraud_detection.entrypoints.lambda_drift.handler"]


# The service image: the default target, so it stays the last stage.
FROM runtime AS service

USER 10001:10001

EXPOSE 8000

# Liveness only (/readyz stays 503 until a model is loaded, which is not a reason to restart the container).
# urllib raises on connection errors and on non-2xx answers, so the exit status is the verdict; no curl needed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# `fraud serve` runs uvicorn in this process (signals reach it) with the service's limits: header deadline
# (FRAUD_API_HEADER_SECONDS) and concurrency limit (FRAUD_API_CONCURRENCY_MAX); API clients from
# FRAUD_API_CLIENTS_FILE or FRAUD_API_CLIENTS_SECRET.
CMD ["fraud", "serve", "--host", "0.0.0.0", "--port", "8000"]
