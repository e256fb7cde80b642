# One image for all three roles (voting, results, worker) and the migrate Job; each
# Kubernetes workload names its own command (deploy/k8s). Build:
#   docker build -t live-votes:0.1.0 .
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
# A numeric UID, so Kubernetes can check runAsNonRoot without a user database.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Code and static files stay owned by root: the app user can read them, not change them.
COPY . .
# Static files are collected (hashed and compressed for WhiteNoise) into the image.
# Settings refuse to load without a secret key when DEBUG is off: this one exists only
# for this command and is not kept in any layer's environment.
RUN DJANGO_SECRET_KEY=build-only-not-secret DJANGO_DEBUG=0 \
    python manage.py collectstatic --noinput \
    && python -m compileall -q /app
USER 10001:10001
EXPOSE 8000 8001 9808
# The voting role by default; Kubernetes sets each role's command.
CMD ["gunicorn", "votingsite.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "8", "--reuse-port"]
