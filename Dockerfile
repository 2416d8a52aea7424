# The win-back app for production: one image for the web (gunicorn), the worker and
# the migrations (compose.yaml runs each as a service; docs/deploy.md).
#
#   docker build -t recovery .
#   docker run --env-file .env recovery                       # web on :8000
#   docker run --env-file .env recovery flask --app wsgi recovery worker
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RECOVERY_ENV=production \
    GUNICORN_BIND=0.0.0.0:8000 \
    UPLOAD_FOLDER=/data/uploads

WORKDIR /app

# psycopg[binary], pandas, numpy, scipy and cryptography come as wheels: no compiler.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .
# The compiled catalogue (.mo) is not in the repository.
RUN pybabel compile -d translations \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin recovery \
    && mkdir -p /data/uploads /app/instance \
    && chown -R recovery /data /app/instance

USER recovery
EXPOSE 8000
VOLUME ["/data/uploads"]

# /healthz is 200 only when the database answers, the schema is at the migrations'
# head and a worker's heartbeat is fresh.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "wsgi:app"]
