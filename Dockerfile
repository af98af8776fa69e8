# MLPerf Inference Llama-3.1-8B on vLLM through the official LoadGen, for NVIDIA GPUs.
#   docker build -t mlperf-llama31:clean .
#   docker run --gpus all --rm --env-file .env -v $PWD/results:/app/results mlperf-llama31:clean python run.py --help
# The tools run as the owner of the mounted results folder (scripts/docker-entrypoint.sh; README: Docker).
# The official vLLM image brings vLLM, torch and CUDA; the project adds LoadGen, ROUGE and plotting.
FROM vllm/vllm-openai:v0.26.0

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/app/.cache/home \
    HF_HOME=/app/.cache/huggingface \
    MLPERF_VLLM_CACHE=/app/.cache/mlperf_vllm \
    VLLM_NO_USAGE_STATS=1

WORKDIR /app
COPY requirements-common.txt requirements.txt ./
# vLLM is already in the base image: install only what the project adds, and keep the image's torch.
RUN python3 -m pip install --no-cache-dir -r requirements-common.txt

COPY . .
# Whatever uid the tools end up running as (the host user's, see the entrypoint), the caches must be
# theirs to write: sticky and open to all, like /tmp.
RUN mkdir -p /app/results /app/.cache/home \
    && chmod 1777 /app/.cache /app/.cache/home \
    && chmod 0755 /app/scripts/docker-entrypoint.sh

VOLUME ["/app/results"]
# Starts as root only to become the owner of the mounted results folder (the host user); the base
# image's `vllm serve` entrypoint is replaced: this image runs `python run.py ...`, `python mmlu.py ...`.
ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
CMD ["python3", "run.py", "--help"]
