"""Area under the margin (AUM, Pleiss et al. 2020, "Identifying Mislabeled Data using the Area Under the
Margin Ranking"): how far, while a small network learns the data, each row's given label stays ahead of
the strongest other label.

A row whose label is wrong is learned late, against the pull of the rows like it, so its margin (the
logit of the given label minus the largest other logit, taken each time the row is in a training batch)
stays low or negative for most of training; a row labelled right is learned early and its margin grows.
Here the network is a one-hidden-layer MLP on the frozen features (the audit's pooled embeddings of every
layer), trained once per cross-validation fold on the other folds, with early stopping on a tenth of its
training rows (but for at least MIN_STEPS batches, which only a small data set does not reach anyway); each row's AUM is its margin averaged over every batch it was trained in, over all the
folds that trained on it. cleanlab has no AUM, hence this module; it stays small on purpose.

`margin_probabilities` turns the AUM into class probabilities the audit can average with its other views:
the given label gets sigmoid(AUM) (exactly the softmax probability of that margin for two labels), the
rest is shared among the other labels as the network's mean training-time probabilities share it."""

from __future__ import annotations

import numpy as np

from moderator_app.core.audit.embeddings import AuditCancelled

HIDDEN = 256
MAX_EPOCHS = 20
PATIENCE = 3  # epochs without a better loss on the held-back tenth before a fold stops
MIN_STEPS = 300  # a small data set is trained for at least this many batches: a margin needs training to mean anything
BATCH = 64
LEARNING_RATE = 1e-3


def training_margins(features: np.ndarray, label_ids: np.ndarray, n_labels: int, splits, seed: int = 12345,
                     cancelled=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(AUM per row, mean training-time softmax per row (rows, labels), each row's softmax from the network
    that did not train on it, after its last epoch) over the folds `splits` (pairs of train and held-out
    indices, as scikit-learn's splitters give). `cancelled()` is asked between epochs."""
    import torch

    x_all = torch.as_tensor(np.asarray(features, dtype=np.float32))
    y_all = torch.as_tensor(np.asarray(label_ids, dtype=np.int64))
    margins = np.zeros(len(y_all))
    shares = np.zeros((len(y_all), n_labels))
    seen = np.zeros(len(y_all))
    held_out = np.full((len(y_all), n_labels), 1.0 / n_labels)
    generator = np.random.default_rng(seed)
    with torch.random.fork_rng(devices=[]):  # seeded dropout and initialisation without touching the caller's RNG
        for fold, (train, held) in enumerate(splits):
            torch.manual_seed(seed + fold)
            train = generator.permutation(np.asarray(train))
            check, train = train[:max(1, len(train) // 10)], train[max(1, len(train) // 10):]
            network = _network(x_all.shape[1], n_labels)
            optimiser = torch.optim.AdamW(network.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
            best, stale = np.inf, 0
            batches = max(1, len(train) // BATCH)
            least = -(-MIN_STEPS // batches)  # epochs
            for epoch in range(max(MAX_EPOCHS, least + PATIENCE)):
                if cancelled is not None and cancelled():
                    raise AuditCancelled("The audit was cancelled; nothing was written.")
                network.train()
                for batch in np.array_split(generator.permutation(train), batches):
                    logits = network(x_all[batch])
                    loss = torch.nn.functional.cross_entropy(logits, y_all[batch])
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()
                    with torch.no_grad():
                        margins[batch] += _margins(logits, y_all[batch]).numpy()
                        shares[batch] += torch.softmax(logits, dim=1).numpy()
                        seen[batch] += 1
                network.eval()
                with torch.no_grad():
                    check_loss = float(torch.nn.functional.cross_entropy(network(x_all[check]), y_all[check]))
                if check_loss < best - 1e-4:
                    best, stale = check_loss, 0
                else:
                    stale += 1
                    if stale >= PATIENCE and epoch + 1 >= least:
                        break
            with torch.no_grad():
                held_out[held] = torch.softmax(network(x_all[held]), dim=1).numpy()
    seen = np.maximum(seen, 1)
    return margins / seen, shares / seen[:, None], held_out


def margin_probabilities(aum: np.ndarray, shares: np.ndarray, label_ids: np.ndarray) -> np.ndarray:
    """Class probabilities from the AUM: sigmoid(AUM) for the given label, the rest spread over the other
    labels in proportion to their mean training-time probabilities."""
    label_ids = np.asarray(label_ids, dtype=int)
    rows = np.arange(len(label_ids))
    given = 1.0 / (1.0 + np.exp(-np.clip(aum, -50, 50)))
    others = shares.astype(np.float64).copy()
    others[rows, label_ids] = 0.0
    totals = others.sum(axis=1, keepdims=True)
    even = np.ones_like(others) / max(1, others.shape[1] - 1)
    even[rows, label_ids] = 0.0
    others = np.where(totals > 0, others / np.where(totals > 0, totals, 1.0), even)
    probabilities = others * (1.0 - given)[:, None]
    probabilities[rows, label_ids] = given
    return probabilities


def _network(width: int, n_labels: int):
    import torch

    return torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(width, HIDDEN), torch.nn.GELU(),
                               torch.nn.Dropout(0.2), torch.nn.Linear(HIDDEN, n_labels))


def _margins(logits, labels):
    """The given label's logit minus the largest other one, per row."""
    import torch

    given = logits.gather(1, labels[:, None])[:, 0]
    others = logits.clone()
    others.scatter_(1, labels[:, None], -torch.inf)
    return given - others.max(dim=1).values
