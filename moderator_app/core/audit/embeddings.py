"""Frozen sentence embeddings of the base encoder: the features the audit's cross-validated classifier
learns from.

The run's base model is loaded as training loads it (no code from the model, safetensors unless the
run allows pickles, then tensors only), without any head; each text is the mean of its last hidden
states over its real tokens, L2-normalised. For the audit's classifier (`all_layers`) every hidden
state is pooled so, the embedding layer's and each transformer layer's, each block L2-normalised and the
blocks laid side by side, the last layer's first, scaled so that the row has unit length: the lower
layers keep surface cues (words, spelling) that the last one smooths away, and on tweeteval_hate the
classifier on all the layers is clearly better (benchmarks/README.md). Texts are tokenised at once, sorted longest first and cut
into the same token-budget batches the classifier predicts in (`core/inference/classifier`), under
inference mode in the precision `core/precision` picks for predictions (bf16 on a CPU that computes it
natively). Between two batches `report(done, total)` is called and `cancelled()` asked."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from moderator_app.core.hub import ensure_model_available, hub_reachable
from moderator_app.core.precision import inference_precision

EMBED_BATCH_SIZE = 64


class AuditCancelled(Exception):
    """The audit was cancelled (between two batches or two steps); nothing was written."""


def load_encoder(name: str, allow_pickle: bool = False, device: str = "cpu"):
    """(tokenizer, model) of a base encoder, safely. Raises ModelNotUsableError / ModelNotAvailableError."""
    import torch
    from transformers import AutoModel

    # lazy for start-up speed: the Training tab imports this module as the window opens (the Audit page); the
    # base-model loader comes with an audit
    from moderator_app.core.training.base_model import check_weight_files, load_failure, load_tokenizer

    ensure_model_available(name)  # a hub id not cached while offline fails here, at once
    check_weight_files(name, allow_pickle)
    local_only = not Path(name).expanduser().is_dir() and not hub_reachable()
    tokenizer = load_tokenizer(name, local_only)
    try:
        model = AutoModel.from_pretrained(name, trust_remote_code=False, use_safetensors=None if allow_pickle else True,
                                          weights_only=True, dtype=torch.float32, local_files_only=local_only)
    except Exception as error:  # noqa: BLE001 - one user-facing message, as training gives
        raise load_failure(name, error, allow_pickle) from None
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, model.to(device).eval()


def embed_texts(texts: Sequence[str], tokenizer, model, max_length: int = 128, batch_size: int = EMBED_BATCH_SIZE,
                precision: str = "auto", report: Callable[[int, int], None] | None = None,
                cancelled: Callable[[], bool] | None = None, all_layers: bool = False) -> np.ndarray:
    """(len(texts), hidden size) float32, each row the L2-normalised mean-pooled embedding of a text; with
    `all_layers`, (len(texts), hidden size × hidden states): the last layer's block first, then the
    embedding layer's and the others' in order, each block L2-normalised, the row of unit length."""
    import torch

    from moderator_app.core.inference.classifier import token_budget_batches  # lazy for start-up speed, as above

    device = str(next(model.parameters()).device)
    chosen = inference_precision(precision, device)
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)
    lengths = np.array([len(ids) for ids in encoded["input_ids"]])
    order = np.argsort(-lengths, kind="stable")
    columns = [name for name in encoded.keys() if name in ("input_ids", "attention_mask", "token_type_ids")]
    size = model.config.hidden_size
    blocks = model.config.num_hidden_layers + 1 if all_layers else 1
    output = np.zeros((len(texts), size * blocks), dtype=np.float32)
    done = 0
    # as Classifier._predict_nonempty: in half precision one autocast region under no_grad (autocast keeps its
    # weight copies for the region); in fp32 inference_mode
    no_gradients = torch.inference_mode() if chosen.name == "fp32" else torch.no_grad()
    with no_gradients, chosen.autocast():
        for indices in token_budget_batches(order, lengths, batch_size):
            if cancelled is not None and cancelled():
                raise AuditCancelled("The audit was cancelled; nothing was written.")
            batch = tokenizer.pad({column: [encoded[column][index] for index in indices] for column in columns},
                                  return_tensors="pt")
            batch = {key: value.to(device) for key, value in batch.items()}
            outputs = model(**batch, output_hidden_states=all_layers)
            states = [outputs.hidden_states[-1], *outputs.hidden_states[:-1]] if all_layers \
                else [outputs.last_hidden_state]
            mask = batch["attention_mask"].unsqueeze(-1).float()
            for block, hidden in enumerate(states):
                pooled = (hidden.float() * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
                pooled = torch.nn.functional.normalize(pooled, dim=-1) / np.sqrt(blocks)
                output[indices, block * size:(block + 1) * size] = pooled.cpu().numpy()
            done += len(indices)
            if report is not None:
                report(done, len(texts))
    return output


def encoder_embedder(name: str, max_length: int = 128, allow_pickle: bool = False, precision: str = "auto"):
    """An `embed(texts, report, cancelled)` function over the base encoder `name` (loaded on first use),
    giving every layer's pooled embedding (`all_layers`). Its `neighbour_columns`, once it has run, is the
    width of the first block, the last layer's, which the label-issue search looks for neighbours in."""
    loaded: list = []

    def embed(texts: Sequence[str], report=None, cancelled=None) -> np.ndarray:
        if not loaded:
            loaded.extend(load_encoder(name, allow_pickle))
        tokenizer, model = loaded
        limit = getattr(tokenizer, "model_max_length", max_length)
        length = min(max_length, limit) if isinstance(limit, int) and 0 < limit < 1_000_000 else max_length
        embed.neighbour_columns = model.config.hidden_size
        return embed_texts(texts, tokenizer, model, length, precision=precision, report=report, cancelled=cancelled,
                           all_layers=True)

    embed.neighbour_columns = None
    return embed
