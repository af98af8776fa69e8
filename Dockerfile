# MLPerf Inference Llama-3.1-8B on vLLM through the official LoadGen, for NVIDIA GPUs.
#   docker build -t mlperf-llama31:clean .
#   docker run --gpus all --rm --env-file .env -v $PWD/results:/app/results mlperf-llama31:clean python run.py --help
# The official vLLM image brings vLLM, torch and CUDA; the project adds LoadGen, ROUGE and plotting.
FROM vllm/vllm-openai:v0.26.0

ENV PYTHONUNBUFFERED=1 \
    HF_HOME=/app/.cache/huggingface \
    MLPERF_VLLM_CACHE=/app/.cache/mlperf_vllm \
    VLLM_NO_USAGE_STATS=1

WORKDIR /app
COPY requirements-common.txt requirements.txt ./
# vLLM is already in the base image: install only what the project adds, and keep the image's torch.
RUN python3 -m pip install --no-cache-dir -r requirements-common.txt

COPY . .
RUN useradd --create-home --uid 1000 bench \
    && mkdir -p /app/results /app/.cache \
    && chown -R bench:bench /app
USER bench

VOLUME ["/app/results"]
# The base image starts `vllm serve`; this image runs the tools: `python run.py ...`, `python mmlu.py ...`.
ENTRYPOINT []
CMD ["python3", "run.py", "--help"]
