"""What the engine does with batches, apart from running the loop: each row's token ids and length, an
epoch's batches as a pure function of (seed, epoch) (so that a resumed run sees the same ones), the loss
of a batch (class weights, soft targets), the validation pass over batches of similar length (its
share of them on several processes), and whether an fp16 step overflowed. torch and transformers are
imported inside the functions, as in the engine."""

from __future__ import annotations

from moderator_app.core.config import TrainingConfig
from moderator_app.core.training import distributed
from moderator_app.core.training.evasion import EvasionCopies
from moderator_app.core.training.metrics import metrics_from_predictions
from moderator_app.core.training.multi_source import epoch_rows
from moderator_app.core.training.votes import SOFT_TARGETS, soft_cross_entropy


def tokenize(dataset, tokenizer, max_length: int):
    """Token ids without padding (the collator pads each batch to its own longest text), and each
    row's length in tokens for batching by length."""
    tokenized = dataset.map(lambda rows: tokenizer(rows["text"], truncation=True, max_length=max_length),
                            batched=True, remove_columns=["text"], desc=None)
    return tokenized, [len(ids) for ids in tokenized["input_ids"]]


def epoch_batches(lengths: list[int], config: TrainingConfig, epoch: int, row_sources: list[int] | None = None,
                   source_weights: list[float] | None = None, copies: EvasionCopies | None = None) -> list[list[int]]:
    """This epoch's batches as lists of row indices, a pure function of (seed, epoch) so that a
    resumed run sees exactly the batches the interrupted one would have.

    With group_by_length, batches hold texts of similar length (less padding: faster), in random
    order, as transformers.Trainer's group_by_length. Source weights other than 1 scale each source's
    rows in the epoch (`multi_source.epoch_rows`); evasion `copies` add obfuscated copies of some of them."""
    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler

    rows = list(range(len(lengths)))
    if row_sources and source_weights and any(weight != 1 for weight in source_weights):
        rows = epoch_rows(row_sources, source_weights, config.seed, epoch)
    if copies is not None:
        lengths, rows = copies.extend(epoch, lengths, rows)
    generator = torch.Generator().manual_seed(config.seed + epoch)
    if config.group_by_length:
        order = list(LengthGroupedSampler(config.train_batch_size, lengths=[lengths[row] for row in rows],
                                          generator=generator))
    else:
        order = torch.randperm(len(rows), generator=generator).tolist()
    order = [rows[position] for position in order]
    size = config.train_batch_size
    return [order[start:start + size] for start in range(0, len(order), size)]


def batch_loss(model, batch: dict, class_loss_weights=None):
    """The training loss of a batch: the model's own cross-entropy (the recipe), or with
    `class_loss_weights` (class weighting) a cross-entropy weighting each label's rows by its weight;
    with soft targets (vote shares) the soft-target cross-entropy, weighted the same way."""
    import torch

    if class_loss_weights is None and SOFT_TARGETS not in batch:
        return model(**batch).loss
    inputs = {key: value for key, value in batch.items() if key not in ("labels", SOFT_TARGETS)}
    logits = model(**inputs).logits.float()
    if SOFT_TARGETS in batch:
        return soft_cross_entropy(logits, batch[SOFT_TARGETS], class_loss_weights)
    return torch.nn.functional.cross_entropy(logits, batch["labels"], weight=class_loss_weights)


def evaluate_batches(model, val_set, lengths: list[int], collate, config: TrainingConfig, device: str,
                     autocast: dict, num_labels: int, cluster: distributed.Cluster = distributed.Cluster()):
    """Validation loss (mean over examples), metrics, and each row's true and predicted label in the
    validation set's order; batches of similar length, one host transfer. Over several processes,
    each evaluates its share of the batches and all predictions are gathered."""
    import torch

    model.eval()
    by_length = sorted(range(len(val_set)), key=lengths.__getitem__)
    batches = [by_length[start:start + config.eval_batch_size] for start in range(0, len(by_length), config.eval_batch_size)]
    every_batch = batches
    batches = cluster.own_batches(batches)
    loader = torch.utils.data.DataLoader(val_set, batch_sampler=batches, collate_fn=collate,
                                         generator=torch.Generator())
    loss_sum = torch.zeros((), device=device)
    all_labels = [torch.empty(0, dtype=torch.long, device=device)]  # a process may have no batch
    all_predictions = [torch.empty(0, dtype=torch.long, device=device)]
    with torch.inference_mode(), torch.autocast(**autocast):
        for batch in loader:
            batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
            labels = batch.pop("labels")
            logits = model(**batch).logits.float()
            loss_sum += torch.nn.functional.cross_entropy(logits, labels, reduction="sum")
            all_labels.append(labels)
            all_predictions.append(logits.argmax(dim=-1))
    model.train()
    labels, predictions = cluster.gather(torch.cat(all_labels)), cluster.gather(torch.cat(all_predictions))
    metrics = metrics_from_predictions(labels, predictions, num_labels)
    # gathered in rank order, each rank's batches in turn: back to the validation set's order (per-source metrics)
    world = getattr(cluster, "world_size", 1) if cluster.is_distributed else 1
    gathered_rows = [row for rank in range(world) for batch in every_batch[rank::world] for row in batch]
    in_order = [0] * len(val_set)
    for position, row in enumerate(gathered_rows):
        in_order[row] = position
    truth, predicted = labels.cpu().tolist(), predictions.cpu().tolist()
    return (metrics, cluster.sum(loss_sum).item() / len(val_set), [truth[i] for i in in_order],
            [predicted[i] for i in in_order])


def found_inf(scaler, optimizer):
    """1 when this fp16 step's gradients overflowed (the scaler will skip it), as a device tensor.

    The scaler records this per device when unscaling; reading it here costs no synchronisation."""
    import torch

    if not scaler._per_optimizer_states[id(optimizer)]["found_inf_per_device"]:
        scaler.unscale_(optimizer)
    found = scaler._per_optimizer_states[id(optimizer)]["found_inf_per_device"]
    return torch.stack([value.to(next(iter(found.values())).device) for value in found.values()]).sum()
