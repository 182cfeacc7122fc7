# syntax=docker/dockerfile:1
# Every Daybook image from one recipe. Build from the repository root:
#   docker build --build-arg SERVICE=users --build-arg PORT=8001 -t daybook/users .
#   docker build --target tests -t daybook/tests .      # the cross-service tests (compose profile "tests")
# SERVICE is users, journal, reminders or gateway; PORT is that service's default port (the one its
# command line uses when <SERVICE>_PORT is unset). The reminders image also runs the scheduler
# (`daybook-reminders-scheduler`, no HTTP port). compose.yaml passes both for each service.
ARG BASE_IMAGE=python:3.11-slim-bookworm


# uv and every workspace member's pyproject.toml: uv needs all of them to check that uv.lock is current.
FROM ${BASE_IMAGE} AS workspace
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
COPY uv.lock pyproject.toml ./
COPY shared/common/pyproject.toml shared/common/
COPY shared/devtools/pyproject.toml shared/devtools/
COPY services/users/pyproject.toml services/users/
COPY services/journal/pyproject.toml services/journal/
COPY services/reminders/pyproject.toml services/reminders/
COPY services/gateway/pyproject.toml services/gateway/
COPY deploy/pyproject.toml deploy/
COPY bench/pyproject.toml bench/


FROM workspace AS build
ARG SERVICE
RUN case "${SERVICE}" in users|journal|reminders|gateway) ;; \
    *) echo "--build-arg SERVICE=users|journal|reminders|gateway is required (got '${SERVICE}')" >&2; exit 1 ;; esac
# Dependencies first: this layer is rebuilt only when the lockfile or a pyproject changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-workspace --package "daybook-${SERVICE}"
# Then the code: only what this service runs (never shared/devtools).
COPY shared/common/ shared/common/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --package "daybook-${SERVICE}" \
    && ln -s "daybook-${SERVICE}" /app/.venv/bin/daybook-service
# The web app, which the gateway serves at /: web/dist, built on the host before the images
# (`daybook images build` does; by hand `cd web && npm ci && npm run build`), since the images have
# no Node.js and Debian bookworm's (18) is older than Vite needs. Only the gateway keeps it.
COPY web/dist/ /tmp/web-dist/
RUN if [ "${SERVICE}" = gateway ]; then cp -r /tmp/web-dist /app/web; fi


# The whole workspace with its dev tools: the tests' pytest plugin lives in daybook_devtools.
FROM workspace AS tests
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-install-workspace
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked \
    && groupadd --system --gid 10001 daybook \
    && useradd --system --uid 10001 --gid daybook --home-dir /src --no-create-home daybook
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
CMD ["pytest", "tests", "-p", "no:cacheprovider"]


# Last, so a build without --target makes a service image.
FROM ${BASE_IMAGE} AS runtime
ARG SERVICE
ARG PORT
RUN groupadd --system --gid 10001 daybook \
    && useradd --system --uid 10001 --gid daybook --home-dir /app --no-create-home --shell /usr/sbin/nologin daybook \
    && install -d -o daybook -g daybook -m 0700 /var/lib/daybook /var/lib/daybook/keys /var/lib/daybook/mail
COPY --from=build /app/ /app/
# USERS_SIGNING_KEY_FILE is read by the users service only: its signing key lives on a volume there;
# GATEWAY_WEB_DIR by the gateway only (the other images have no /app/web).
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DAYBOOK_SERVICE=${SERVICE} \
    DAYBOOK_SERVICE_PORT=${PORT} \
    USERS_SIGNING_KEY_FILE=/var/lib/daybook/keys/users-signing-key.pem \
    GATEWAY_WEB_DIR=/app/web
WORKDIR /app
USER 10001:10001
EXPOSE ${PORT}
# The port the service listens on: <SERVICE>_PORT when set (as the command line reads it), else PORT.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get(os.environ['DAYBOOK_SERVICE'].upper() + '_PORT', os.environ['DAYBOOK_SERVICE_PORT']); urllib.request.urlopen('http://127.0.0.1:' + port + '/health', timeout=2)"]
CMD ["daybook-service", "serve", "--host", "0.0.0.0"]
