"""A tiny Llama-architecture demo model and CNN/DailyMail-shaped demo data, built offline.

The model has random weights, so its summaries are nonsense and ROUGE is near zero: the demo
exercises the real pipeline (tokenizer, vLLM, LoadGen, ROUGE, report), not model quality.
Everything is generated from fixed seeds, so every machine builds the same model and data.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import tempfile
from pathlib import Path

from . import rules
from .errors import SetupError

log = logging.getLogger(__name__)

DEMO_MODEL_NAME = "demo"
_DEMO_VERSION = "1"  # bump when the model or data generator changes, so caches rebuild

# Llama-3 special tokens, in Llama-3's order (ids 0..N-1 of the demo vocabulary here).
SPECIAL_TOKENS = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|eot_id|>",
    "<|finetune_right_pad_id|>",
)
BOS, EOT_TEXT, EOM, EOT = "<|begin_of_text|>", "<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"

# The Llama-3.1 chat template, reduced to what a demo needs (no tools, no date header).
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

_FIRST = ["John", "Maria", "Ahmed", "Li", "Sarah", "David", "Olga", "Kwame", "Emma", "Carlos", "Priya", "James"]
_LAST = ["Smith", "Garcia", "Khan", "Chen", "Brown", "Okafor", "Novak", "Silva", "Taylor", "Patel", "Muller"]
_PLACES = ["London", "New York", "Paris", "Lagos", "Sydney", "Mumbai", "Chicago", "Berlin", "Toronto",
           "Madrid", "Seoul", "Cairo", "Boston", "Denver", "Houston", "Atlanta"]
_ORGS = ["the U.S. Senate", "the city council", "the World Health Organization", "the police",
         "the Football Association", "the United Nations", "a local hospital", "the Supreme Court",
         "the Federal Reserve", "the school board", "NASA", "the U.K. government"]
_TITLES = ["Mr.", "Mrs.", "Dr.", "Prof.", "Sen.", "Gov.", "Gen.", "Capt."]
_VERBS = ["announced", "said", "confirmed", "denied", "reported", "warned", "revealed", "argued",
          "claimed", "insisted", "explained", "added"]
_NOUNS = ["plan", "investigation", "decision", "report", "agreement", "match", "storm", "election",
          "trial", "study", "budget", "project", "crash", "rescue", "protest", "discovery"]
_ADJS = ["new", "controversial", "major", "surprising", "long-awaited", "urgent", "historic",
         "unexpected", "final", "initial", "record", "emergency"]
_TIMES = ["on Monday", "on Tuesday", "last week", "at 9 a.m.", "at 4:30 p.m.", "on Friday night",
          "earlier this year", "in January", "by Sunday", "overnight"]


def _person(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return f"{rng.choice(_TITLES)} {rng.choice(_LAST)}"
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def _sentence(rng: random.Random) -> str:
    n = rng.randint(2, 980)
    forms = [
        lambda: f"{_person(rng)} {rng.choice(_VERBS)} that the {rng.choice(_ADJS)} {rng.choice(_NOUNS)} "
                f"would go ahead {rng.choice(_TIMES)}.",
        lambda: f"Officials in {rng.choice(_PLACES)} {rng.choice(_VERBS)} {n} people were affected by the "
                f"{rng.choice(_NOUNS)}.",
        lambda: f"The {rng.choice(_NOUNS)}, which began {rng.choice(_TIMES)}, was {rng.choice(_VERBS)} "
                f"by {rng.choice(_ORGS)}.",
        lambda: f"\"We are {rng.choice(['deeply', 'very', 'not'])} concerned about the {rng.choice(_NOUNS)},\" "
                f"{_person(rng)} told reporters in {rng.choice(_PLACES)}.",
        lambda: f"According to {rng.choice(_ORGS)}, the {rng.choice(_ADJS)} {rng.choice(_NOUNS)} cost "
                f"${n}.{rng.randint(0, 9)} million.",
        lambda: f"{rng.choice(_ORGS).capitalize()} {rng.choice(_VERBS)} a {rng.choice(_ADJS)} "
                f"{rng.choice(_NOUNS)} {rng.choice(_TIMES)} after {n} days of talks.",
    ]
    return rng.choice(forms)()


def make_article(rng: random.Random, n_sentences: int) -> tuple[str, str]:
    """Return (article, highlights): a news-like article and a 3-4 sentence summary of it."""
    sentences = [_sentence(rng) for _ in range(n_sentences)]
    paragraphs, i = [], 0
    while i < len(sentences):
        k = rng.randint(1, 3)
        paragraphs.append(" ".join(sentences[i:i + k]))
        i += k
    place = rng.choice(_PLACES).upper()
    article = f"{place} (CNN) -- " + "\n\n".join(paragraphs)
    highlights = "\n".join(rng.sample(sentences, k=min(len(sentences), rng.randint(3, 4))))
    return article, highlights


def _corpus(n_articles: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [make_article(rng, rng.randint(5, 30))[0] for _ in range(n_articles)]


CACHE_ENV = "MLPERF_VLLM_CACHE"
MODEL_FILES = ("config.json", "tokenizer.json", "model.safetensors")


def cache_root() -> Path:
    """Where the demo model and data are cached (MLPERF_VLLM_CACHE, else ~/.cache/mlperf_vllm)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "mlperf_vllm"


def _cache_error(exc: OSError, what: str) -> SetupError:
    """The one line for a cache that cannot be written (a read-only HOME, a full disk, a name too long)."""
    root = str(cache_root())
    root = root if len(root) <= 120 else f"{root[:60]}...{root[-40:]}"
    where = f"{CACHE_ENV} is {root}" if os.environ.get(CACHE_ENV) else f"{root}, under HOME"
    return SetupError(f"cannot write the {what} to its cache ({where}): {exc.strerror or exc}; set {CACHE_ENV} to a "
                      "folder you can write (the demo model and data take about 2 MB).")


def _build_atomically(target: Path, build) -> Path:
    """Build into a temporary sibling directory and rename it into place (safe under concurrency)."""
    if (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(tmp)
        (tmp / ".complete").write_text(_DEMO_VERSION)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the cache is shared like any model directory
        try:
            os.rename(tmp, target)
        except OSError:  # another process won the race; its copy is identical
            if not (target / ".complete").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _train_tokenizer(out: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1024, special_tokens=list(SPECIAL_TOKENS), show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    text = _corpus(400, seed=1234) + [rules.PROMPT_TEMPLATE] * 20
    tok.train_from_iterator(text, trainer=trainer)
    from tokenizers import processors
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS}:0 $A:0", pair=f"{BOS}:0 $A:0 $B:1", special_tokens=[(BOS, bos_id)])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOT, pad_token=EOT_TEXT,
        model_max_length=131072, chat_template=CHAT_TEMPLATE,
    )
    fast.save_pretrained(out)


def _build_model(out: Path) -> None:
    import torch
    from transformers import (
        AutoTokenizer,
        GenerationConfig,
        LlamaConfig,
        LlamaForCausalLM,
    )

    _train_tokenizer(out)
    tok = AutoTokenizer.from_pretrained(out)
    eos_ids = [tok.convert_tokens_to_ids(t) for t in (EOT_TEXT, EOM, EOT)]
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=32,  # vLLM CPU attention needs >= 32
        max_position_embeddings=4096, rms_norm_eps=1e-5, rope_theta=500000.0,
        bos_token_id=tok.bos_token_id, eos_token_id=eos_ids, tie_word_embeddings=False,
        torch_dtype="bfloat16",
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(out, safe_serialization=True)
    GenerationConfig(bos_token_id=tok.bos_token_id, eos_token_id=eos_ids,
                     do_sample=False).save_pretrained(out)


def demo_model_dir() -> Path:
    """Return the demo model directory, building it (a few seconds, offline) on first use."""
    target = cache_root() / f"demo-model-v{_DEMO_VERSION}"
    try:
        if not (target / ".complete").exists():
            log.info("building the demo model in %s", target)
        _build_atomically(target, _build_model)
        damage = [f"{f} is missing" for f in MODEL_FILES if not (target / f).is_file()]
        if not damage:
            json.loads((target / "config.json").read_text())
    except OSError as exc:
        raise _cache_error(exc, "demo model") from None
    except ValueError:  # config.json cut short or overwritten
        damage = ["its config.json is not JSON"]
    if damage:
        raise SetupError(f"the demo model's cache {target} is damaged ({damage[0]}); delete that folder (it is rebuilt "
                         "in seconds) and run again.")
    return target


def build_demo_dataset(path: Path, n_samples: int, tokenizer_dir: Path, seed: int = 2024) -> Path:
    """Write an official-format CNN/DailyMail JSON (instruction, input, tok_input, output)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    rng = random.Random(seed)
    records = []
    for _ in range(n_samples):
        article, highlights = make_article(rng, rng.randint(4, 24))
        prompt = rules.PROMPT_TEMPLATE.format(input=article)
        records.append({
            "instruction": {"llama": rules.PROMPT_TEMPLATE},
            "input": article,
            "tok_input": tok.encode(prompt),  # BOS first, as the HF Llama-3.1 tokenizer does
            "output": highlights,
        })
    from .results.atomic import write_text_atomic
    write_text_atomic(path, json.dumps(records))
    return path


def _whole(path: Path, n_samples: int) -> bool:
    """Whether a cached demo data set is there and whole (a copy cut short is built again)."""
    try:
        records = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(records, list) and len(records) == n_samples


def demo_dataset_path(n_samples: int = 64) -> Path:
    """Return the cached demo data set of n_samples records, building it on first use."""
    model = demo_model_dir()
    path = cache_root() / f"demo-cnn-eval-v{_DEMO_VERSION}-{n_samples}.json"
    try:
        if not _whole(path, n_samples):
            build_demo_dataset(path, n_samples, model)
    except OSError as exc:
        raise _cache_error(exc, "demo data set") from None
    return path
