"""Issue 24's fourth pass: heads trained per fold on cached MiniLM states, AUM, and their combinations with
the audit's default, on tweeteval_hate_train with 5 % of labels flipped (the flips of benchmarks/audit.py:
seed s flips the same rows). Research scripts behind the fourth-pass table of benchmarks/README.md, kept to
reproduce it; the app's own AUM is core/audit/training_margins.py. Shared helpers here; run in order:

    python benchmarks/audit_heads/cache.py                    # pooled embeddings + last layers' inputs
    python benchmarks/audit_heads/mlp.py --seeds 2000 2001 2002 2003 2004
    python benchmarks/audit_heads/combine.py 2000 2001 2002 2003 2004
    python benchmarks/audit_heads/toplayer.py --seeds 2000 --bf16 --epochs 1 --lr 1e-4
    python benchmarks/audit_heads/toplayer.py --seeds 2000 2001 2002 --bf16 --epochs 2 --lr 2e-4
    python benchmarks/audit_heads/shapley.py 2000
    python benchmarks/audit_heads/finetune.py --seeds 1000 --epochs 1 --no-inner   # the whole encoder per fold

The cache goes to $AUDIT_HEADS_CACHE (default /tmp/audit_heads). THREADS sets torch's threads (default 1:
on a loaded 2-core machine two threads thrash)."""
import os, sys, time, pickle, copy, argparse, json
from pathlib import Path
import numpy as np, torch
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
CACHE = os.environ.get("AUDIT_HEADS_CACHE", "/tmp/audit_heads")
from moderator_app.core.audit.label_issues import find_issues
from sklearn.model_selection import StratifiedKFold
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores

torch.set_num_threads(int(__import__("os").environ.get("THREADS", "1")))
emb = np.load(CACHE + "/emb.npy"); true = np.load(CACHE + "/labels.npy")
texts = pickle.load(open(CACHE + "/texts.pkl", "rb"))
N = len(true)

def flips(seed):
    g = np.random.default_rng(seed)
    count = round(0.05 * N)
    flipped = set(g.choice(N, size=count, replace=False).tolist())
    labels = true.copy()
    for r in flipped:
        labels[r] = 1 - labels[r]
    return labels, flipped

def length_batches(lengths, indices, size, rng=None):
    """Batches of `size` rows of similar length (`lengths` per row): shuffled in windows of 20 batches when
    `rng` is given (training), else in length order (prediction)."""
    indices = np.array(indices)
    if rng is not None:
        indices = rng.permutation(indices)
        chunks = [indices[i:i + size * 20] for i in range(0, len(indices), size * 20)]
        indices = np.concatenate([c[np.argsort(lengths[c], kind="stable")] for c in chunks])
        out = [indices[i:i + size] for i in range(0, len(indices), size)]
        return [out[i] for i in rng.permutation(len(out))]
    indices = indices[np.argsort(lengths[indices], kind="stable")]
    return [indices[i:i + size] for i in range(0, len(indices), size)]

def p_at_n(ranking, flipped):
    return sum(int(r) in flipped for r in ranking[:len(flipped)]) / len(flipped)

def cl_ranking(labels, probs):
    flagged = find_label_issues(labels, probs, return_indices_ranked_by="self_confidence", n_jobs=1)
    q = get_label_quality_scores(labels, probs)
    rest = np.setdiff1d(np.arange(N), flagged)
    return np.concatenate([flagged, rest[np.argsort(q[rest], kind="stable")]])

def default_probs(labels, seed_key):
    path = f"{CACHE}/default_{seed_key}.npy"
    try:
        return np.load(path)
    except FileNotFoundError:
        pass
    issues = find_issues(emb, labels, 2, seed=12345, texts=texts, neighbour_columns=384)
    np.save(path, issues.probabilities)
    return issues.probabilities
