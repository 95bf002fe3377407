import sys, numpy as np
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from exp import *
seeds = [int(s) for s in sys.argv[1:]] or [2000]
for seed in seeds:
    labels, flipped = flips(seed)
    d = default_probs(labels, seed)
    res = {"default": p_at_n(cl_ranking(labels, d), flipped)}
    given = d[np.arange(N), labels]
    res["default pure self-conf"] = p_at_n(np.argsort(given, kind="stable"), flipped)
    try:
        m = np.load(f"{CACHE}/mlp_{seed}.npy"); aum = np.load(f"{CACHE}/mlpaum_{seed}.npy")
        pa = 1 / (1 + np.exp(-aum))  # AUM as the probability of the given label
        pa2 = np.stack([np.where(labels == 0, pa, 1 - pa), np.where(labels == 1, pa, 1 - pa)], 1)
        res["mlp"] = p_at_n(cl_ranking(labels, m), flipped)
        res["avg4 +mlp"] = p_at_n(cl_ranking(labels, (3 * d + m) / 4), flipped)
        res["aum"] = p_at_n(np.argsort(aum), flipped)
        res["avg4 +aum-as-prob"] = p_at_n(cl_ranking(labels, (3 * d + pa2) / 4), flipped)
        res["avg5 +mlp +aum"] = p_at_n(cl_ranking(labels, (3 * d + m + pa2) / 5), flipped)
        r1 = np.argsort(np.argsort(given)); r2 = np.argsort(np.argsort(aum))
        res["rank mean default,aum"] = p_at_n(np.argsort(r1 + r2), flipped)
        res["rank mean 3:1"] = p_at_n(np.argsort(3 * r1 + r2), flipped)
    except FileNotFoundError:
        pass
    print(seed, " ".join(f"{k}={v:.3f}" for k, v in res.items()), flush=True)
