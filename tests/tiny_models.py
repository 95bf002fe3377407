"""Tiny random-init models and a synthetic, learnable data set for offline tests.

Everything here is built from scratch in a few seconds: a byte-level BPE tokenizer
trained with `tokenizers` and a two-layer RoBERTa with hidden size 32.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HATEFUL_WORDS = ["vermin", "subhuman", "parasites", "filth", "scum", "invaders"]
NEUTRAL_WORDS = [
    "the", "weather", "today", "is", "lovely", "we", "went", "to", "market", "and", "bought", "apples",
    "people", "from", "city", "they", "are", "my", "neighbours", "football", "game", "was", "great",
    "music", "friends", "coffee", "morning", "train", "late", "again", "book", "reading", "garden",
]


def synthetic_rows(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """Texts labelled `hate` exactly when they contain a word from HATEFUL_WORDS."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        words = rng.choices(NEUTRAL_WORDS, k=rng.randint(4, 14))
        is_hate = index % 2 == 0
        if is_hate:
            for _ in range(2):
                words.insert(rng.randrange(len(words) + 1), rng.choice(HATEFUL_WORDS))
        rows.append((" ".join(words), "hate" if is_hate else "not-hate"))
    rng.shuffle(rows)
    return rows


def write_csv(path: Path, rows, header=("text", "label"), encoding="utf-8", delimiter=",") -> Path:
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def build_tiny_roberta(folder: Path) -> Path:
    """Write a tokenizer and a random-init RoBERTa encoder (no classification head) to `folder`."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast, RobertaConfig, RobertaModel, set_seed

    folder.mkdir(parents=True, exist_ok=True)
    corpus = [text for text, _ in synthetic_rows(400, seed=99)]
    corpus += ["Hello world, this is a test. NA null None émoji 😀 café naïve"] * 5
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=400, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    from tokenizers.processors import RobertaProcessing

    bpe.post_processor = RobertaProcessing(("</s>", bpe.token_to_id("</s>")), ("<s>", bpe.token_to_id("<s>")))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
        cls_token="<s>", sep_token="</s>", mask_token="<mask>", model_max_length=512,
    )
    tokenizer.save_pretrained(folder)
    set_seed(0)
    config = RobertaConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=520, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, type_vocab_size=1,
    )
    RobertaModel(config).save_pretrained(folder)
    return folder
