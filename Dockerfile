# One image for every role: the front door (its default command), voting, results, worker
# and the migrate Job; each Kubernetes workload names its own command (deploy/k8s). Build:
#   docker build -t live-votes:0.1.0 .
# Without Kubernetes, only the door is published; the roles answer to the names its
# upstreams.conf gives (deploy/k8s/base/front-door), on a network of their own:
#   docker network create live-votes
#   docker run -d --network live-votes --name voting --env-file site.env live-votes:0.1.0 \
#     gunicorn votingsite.wsgi -c python:votingsite.gunicorn_conf --bind 0.0.0.0:8000 --workers 2 --threads 8 --reuse-port
#   docker run -d --network live-votes --name results --env-file site.env live-votes:0.1.0 \
#     python -m votingsite.results_server --bind 0.0.0.0 --port 8001 --websocket-max-message-size 65536 \
#     --websocket-max-frame-size 4096 --websocket_connect_timeout 30 votingsite.asgi:application
#   docker run -d --network live-votes --name worker --env-file site.env live-votes:0.1.0 \
#     celery -A votingsite worker --concurrency 2
#   docker run -d --network live-votes -p 127.0.0.1:8000:8080 live-votes:0.1.0
# (site.env: docs/operations.md, "The image without Kubernetes".)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the pinned requirements in a virtualenv, copied whole into the runtime ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --requirement /tmp/requirements.txt

# --- runtime ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=votingsite.settings \
    DJANGO_STATIC_ROOT=/app/staticfiles
# Debian's nginx is the front door, the same build a local run uses; gettext's msgfmt
# compiles the translations (compilemessages, below). Not pinned to a revision: Debian
# replaces them with each security fix, and the base image is the pin.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx gettext \
    && rm -rf /var/lib/apt/lists/*
# A numeric UID, so Kubernetes can check runAsNonRoot without a user database.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Code and static files stay owned by root: the app user can read them, not change them.
COPY . .
# The door's configuration (Kubernetes mounts its own copy, from the same files, here).
COPY deploy/k8s/base/front-door/ /etc/front-door/
# The translations are compiled, then static files are collected (hashed and compressed:
# the front door serves them from disk, WhiteNoise too), the scripts' catalogue per
# language with them (written from the compiled translations first: votingsite's command),
# and the front door's pages for people (its 429 and 503 in each language: door-pages.conf).
# Settings refuse to load without a secret key when DEBUG is off: this one exists only
# for this command and is not kept in any layer's environment.
RUN DJANGO_SECRET_KEY=build-only-not-secret DJANGO_DEBUG=0 \
    python manage.py compilemessages --ignore=staticfiles -v 0 \
    && DJANGO_SECRET_KEY=build-only-not-secret DJANGO_DEBUG=0 \
    python manage.py collectstatic --noinput \
    && DJANGO_SECRET_KEY=build-only-not-secret DJANGO_DEBUG=0 \
    python manage.py door_pages /app/door-pages \
    && python -m compileall -q /app
USER 10001:10001
EXPOSE 8080 8000 8001 9808
# The front door by default, never a role on its own: gunicorn and daphne must not face
# clients unbuffered. Its pid and temporary files go to /tmp (an emptyDir in the pod).
CMD ["nginx", "-p", "/tmp/", "-c", "/etc/front-door/nginx.conf", "-e", "stderr", "-g", "daemon off;"]
