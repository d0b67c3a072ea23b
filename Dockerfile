# One image for the Rasa server, the action server and the web service (same locked packages).
FROM python:3.10-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1 PYTHONPATH=/app
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock ./
RUN pip install --no-cache-dir --no-deps -r requirements.lock
COPY . .
# The source pages are in the image (data/pages/): the build stops if the knowledge does not match them.
RUN python -m bot validate
# The model is trained at build time: nothing is downloaded or trained when a container starts.
RUN python -m bot.maintenance.model_cache && cp "$(python -m bot.maintenance.model_cache 2>/dev/null)" /app/model.tar.gz
RUN useradd --create-home oim && chown -R oim /app
USER oim
