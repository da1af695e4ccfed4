# Optional container image: `make docker` builds the wheel first, then this image.
#   docker run --rm -v "$PWD/cassettes:/cassettes" ihe-test-utility replay /cassettes --target http://host:8080
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY dist/ihe_test_utility-*.whl /tmp/
RUN python -m pip install /tmp/ihe_test_utility-*.whl && rm /tmp/ihe_test_utility-*.whl \
    && useradd --create-home --uid 10001 ihe \
    && mkdir -p /cassettes && chown ihe:ihe /cassettes

USER ihe
WORKDIR /cassettes
VOLUME ["/cassettes"]

ENTRYPOINT ["ihe"]
CMD ["--help"]
