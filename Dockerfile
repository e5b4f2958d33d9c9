# syntax=docker/dockerfile:1
# Nexo's image: the locked dependencies (requirements.lock, hash-checked) and the wheel, run as a non-root
# user. `docker compose up` runs it with PostgreSQL (compose.yaml); alone it serves HTTP on $PORT with a
# SQLite file in the /data volume.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/nexo
WORKDIR /src
# The lock first: this layer is rebuilt only when a dependency changes, not at every code change.
COPY requirements.lock ./
RUN /opt/nexo/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
RUN /opt/nexo/bin/pip install --no-deps . \
    && cd / && /opt/nexo/bin/python -c "import bot.app, bot.migrate as m; assert (m.MIGRATIONS_DIR / 'env.py').is_file()"

FROM python:${PYTHON_VERSION}-slim
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/nexo nexo \
    && mkdir /data && chown nexo:nexo /data
COPY --from=build /opt/nexo /opt/nexo
ENV PATH=/opt/nexo/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=3000 \
    DATABASE_URL=sqlite:////data/nexo.db
USER nexo
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
# Ready, not merely alive: the web process answers and its database is reachable and migrated (bot/probe.py).
HEALTHCHECK --interval=30s --timeout=6s --start-period=30s --retries=3 CMD ["python", "-m", "bot.probe", "http"]
CMD ["python", "-m", "bot", "serve"]
