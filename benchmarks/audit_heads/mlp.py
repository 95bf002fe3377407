"""MLP head on the pooled all-layer embeddings, per fold, early stopping on an inner tenth; AUM from its training."""
import sys, time, argparse
import numpy as np, torch
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from exp import *

parser = argparse.ArgumentParser()
parser.add_argument("--seeds", type=int, nargs="+", default=[2000, 2001, 2002])
parser.add_argument("--epochs", type=int, default=20)
parser.add_argument("--hidden", type=int, default=256)
parser.add_argument("--lr", type=float, default=1e-3)
parser.add_argument("--dropout", type=float, default=0.2)
parser.add_argument("--patience", type=int, default=3)
args = parser.parse_args()
X = torch.tensor(emb * np.sqrt(7), dtype=torch.float32)  # each block of unit length

def run_seed(seed):
    labels, flipped = flips(seed)
    y = torch.tensor(labels)
    oof = np.zeros((N, 2)); margins = np.zeros(N); seen = np.zeros(N)
    rng = np.random.default_rng(seed); t0 = time.time()
    for fold, (train, held) in enumerate(StratifiedKFold(5, shuffle=True, random_state=12345).split(emb, labels)):
        torch.manual_seed(fold)
        train = rng.permutation(train); inner, train = train[:len(train) // 10], train[len(train) // 10:]
        net = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(X.shape[1], args.hidden), torch.nn.GELU(),
                                  torch.nn.Dropout(args.dropout), torch.nn.Linear(args.hidden, 2))
        opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.01)
        best, best_state, bad = np.inf, None, 0
        for epoch in range(args.epochs):
            net.train()
            for b in np.array_split(rng.permutation(train), len(train) // 64):
                logits = net(X[b]); loss = torch.nn.functional.cross_entropy(logits, y[b])
                opt.zero_grad(); loss.backward(); opt.step()
                with torch.no_grad():
                    g = logits.gather(1, y[b][:, None])[:, 0]; o = logits.gather(1, (1 - y[b])[:, None])[:, 0]
                    margins[b] += (g - o).numpy(); seen[b] += 1
            net.eval()
            with torch.no_grad():
                inner_loss = float(torch.nn.functional.cross_entropy(net(X[inner]), y[inner]))
            if inner_loss < best - 1e-4:
                best, best_state, bad = inner_loss, {k: v.clone() for k, v in net.state_dict().items()}, 0
            else:
                bad += 1
                if bad >= args.patience:
                    break
        net.load_state_dict(best_state); net.eval()
        with torch.no_grad():
            oof[held] = net(X[held]).numpy()
        print(f"  fold {fold}: {epoch + 1} epochs, best inner loss {best:.4f}", flush=True)
    probs = torch.softmax(torch.tensor(oof), 1).numpy()
    aum = margins / np.maximum(seen, 1)
    np.save(f"{CACHE}/mlp_{seed}.npy", probs); np.save(f"{CACHE}/mlpaum_{seed}.npy", aum)
    d = default_probs(labels, seed)
    res = dict(head=p_at_n(cl_ranking(labels, probs), flipped), default=p_at_n(cl_ranking(labels, d), flipped),
               avg4=p_at_n(cl_ranking(labels, (3 * d + probs) / 4), flipped),
               aum=p_at_n(np.argsort(aum), flipped))
    print(f"seed {seed}: " + " ".join(f"{k} {v:.3f}" for k, v in res.items()), f"{time.time() - t0:.0f}s", flush=True)

for seed in args.seeds:
    run_seed(seed)
