"""MLPerf Inference Llama-3.1-8B (CNN/DailyMail) on vLLM through the official MLCommons LoadGen."""

__version__ = "0.1.0"
