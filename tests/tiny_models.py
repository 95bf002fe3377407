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


def build_tiny_roberta(folder: Path, extra_texts=()) -> Path:
    """Write a tokenizer and a random-init RoBERTa encoder (no classification head) to `folder`.
    `extra_texts` join the tokenizer's training corpus (the multi-label models' category words)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast, RobertaConfig, RobertaModel, set_seed

    folder.mkdir(parents=True, exist_ok=True)
    corpus = [text for text, _ in synthetic_rows(400, seed=99)]
    corpus += ["Hello world, this is a test. NA null None émoji 😀 café naïve"] * 5
    corpus += list(extra_texts)
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


# ------------------------------------------------------------------------------------------------
# Multi-label (policy categories)
# ------------------------------------------------------------------------------------------------
OFFENSIVE_WORDS = ["idiot", "stupid", "moron", "loser", "clown", "pathetic"]
THREAT_WORDS = ["destroy", "burn", "hunt", "smash"]
CATEGORY_WORDS = (["nazis", "bigots", "racists", "xenophobes"], OFFENSIVE_WORDS, THREAT_WORDS)


def synthetic_multi_label_rows(count: int, categories=("hate", "offensive"), seed: int = 0) -> list[tuple]:
    """(text, 1/0 per category) rows: a category is yes exactly when the text holds one of its words
    (CATEGORY_WORDS in order: hate, offensive, threat words; the hate words are not HATEFUL_WORDS, whose
    pieces the tiny tokenizer shares with the offensive ones and the tiny model then did not learn apart);
    every combination occurs."""
    if len(categories) > len(CATEGORY_WORDS):
        raise ValueError(f"at most {len(CATEGORY_WORDS)} synthetic categories")
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        words = rng.choices(NEUTRAL_WORDS, k=rng.randint(4, 12))
        flags = [(index >> position) & 1 for position in range(len(categories))]
        for flag, vocabulary in zip(flags, CATEGORY_WORDS):
            if flag:
                for _ in range(2):
                    words.insert(rng.randrange(len(words) + 1), rng.choice(vocabulary))
        rows.append((" ".join(words), *flags))
    rng.shuffle(rows)
    return rows


def tiny_multi_label_model(folder: Path, categories=("hate", "offensive"), base_dir: Path | None = None,
                           thresholds: dict | None = None, epochs: int = 10) -> Path:
    """A multi-label model folder as training writes one (issue 27's format), built offline in seconds:
    a tiny RoBERTa (`base_dir`, else one whose tokenizer knows the category words) fine-tuned a few epochs on synthetic_multi_label_rows with BCE (HF's
    `problem_type` multi_label_classification, `id2label` the categories in order), with
    training_config.json, training_summary.json and an operating_point.json whose per-category
    temperatures and thresholds are fitted on validation rows by the app's own code.
    `thresholds` ({category: t}) replaces the fitted thresholds (to test that saved ones are used)."""
    import json

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    from moderator_app.core.evaluation.operating_point import compute_multi_label_operating_point
    from moderator_app.core.inference.classifier import Classifier
    from moderator_app.core.inference.saved_operating_point import save_operating_point

    categories = tuple(categories)
    folder = Path(folder)
    base_dir = base_dir or build_tiny_roberta(folder.parent / f"{folder.name}-base",
                                              extra_texts=[" ".join(words) for words in CATEGORY_WORDS] * 20)
    set_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForSequenceClassification.from_pretrained(
        base_dir, num_labels=len(categories), id2label=dict(enumerate(categories)),
        label2id={name: index for index, name in enumerate(categories)}, problem_type="multi_label_classification")
    rows = synthetic_multi_label_rows(384, categories, seed=5)
    # the tiny model learns one category first and the next slowly: 10 epochs of 24 small steps learn both
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(epochs):
        for start in range(0, len(rows), 16):
            batch = rows[start:start + 16]
            encoded = tokenizer([row[0] for row in batch], padding=True, return_tensors="pt")
            targets = torch.tensor([row[1:] for row in batch], dtype=torch.float32)
            model(**encoded, labels=targets).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    model.eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "training_config.json").write_text(json.dumps(
        {"model_name_or_path": "tiny-roberta", "max_length": 64, "categories": list(categories)}))
    (folder / "training_summary.json").write_text(json.dumps({
        "best_epoch": epochs, "base_model": "tiny-roberta", "labels": list(categories), "categories": list(categories),
        "best_metrics": {"val_loss": 0.1, "f1": 0.95}}))
    validation = synthetic_multi_label_rows(96, categories, seed=6)
    classifier = Classifier.load(folder, device="cpu", precision="fp32")
    logits = classifier.predict_logits([row[0] for row in validation])
    point = compute_multi_label_operating_point(logits, [row[1:] for row in validation], categories, "best_f1")
    for name, threshold in (thresholds or {}).items():
        point.categories[name]["threshold"] = float(threshold)
    point.text_normalisation = classifier.normalisation
    save_operating_point(folder, point)
    return folder


def one_category_sources(folder: Path, count: int = 240, seed: int = 3) -> list[dict]:
    """Two sources of a hate/offensive multi-label run that each label one category (the other unknown for
    all their rows), like TweetEval hate and TweetEval offensive: half the rows each, as `sources` entries."""
    rows = synthetic_multi_label_rows(count, seed=seed)
    half = count // 2
    hate = write_csv(folder / "hate.csv", [(text, "hateful" if flag else "fine") for text, flag, _ in rows[:half]])
    offensive = write_csv(folder / "offensive.csv", [(text, flag) for text, _, flag in rows[half:]],
                          header=("text", "is_offensive"))
    return [{"path": str(hate), "categories": {"hate": {"column": "label", "yes": ["hateful"], "no": ["fine"]}}},
            {"path": str(offensive), "categories": {"offensive": {"column": "is_offensive"}}}]


def source_forms(sources: list[dict]) -> list[str]:
    """`--source` arguments for `sources` entries of category rules (path and categories only)."""
    import json

    return [part for entry in sources
            for part in ("--source", f"{entry['path']};categories={json.dumps(entry['categories'])}")]
