import sys, numpy as np
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from exp import *
from cleanlab.data_valuation import data_shapley_knn
last = emb[:, :384] * np.sqrt(7)
for seed in [int(s) for s in sys.argv[1:]]:
    labels, flipped = flips(seed)
    d = default_probs(labels, seed); given = d[np.arange(N), labels]
    out = []
    for k in (10, 25):
        v = data_shapley_knn(labels, features=last, k=k)
        out.append(f"shapley k={k} {p_at_n(np.argsort(v, kind='stable'), flipped):.3f}")
        r1 = np.argsort(np.argsort(given)); r2 = np.argsort(np.argsort(v))
        out.append(f"rank 3:1 with default {p_at_n(np.argsort(3 * r1 + r2), flipped):.3f}")
    print(seed, p_at_n(cl_ranking(labels, d), flipped), "; ".join(out), flush=True)
