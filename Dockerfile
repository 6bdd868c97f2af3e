FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY meterr ./meterr
RUN pip install --no-cache-dir .
ENV METERR_HOST=0.0.0.0 METERR_PORT=8000
EXPOSE 8000
CMD ["meterr", "serve"]
