"""Cache for the experiments: all-layer pooled embeddings (as the app computes them) and the input of the
last (and second-to-last) transformer layer per row, float16, trimmed to the row's length."""
import os, sys, time, pickle
from pathlib import Path
import numpy as np, torch
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT / "benchmarks"))
CACHE = os.environ.get("AUDIT_HEADS_CACHE", "/tmp/audit_heads")
os.makedirs(CACHE, exist_ok=True)
from audit import DATA, minilm
from moderator_app.core.audit.audit import audit_rows
from moderator_app.core.audit.embeddings import load_encoder, embed_texts
from moderator_app.core.config import TrainingConfig

torch.set_num_threads(2)
config = TrainingConfig(train_file=str(DATA / "tweeteval_hate_train.csv"), model_name_or_path=minilm())
rows = audit_rows(config)
tok, model = load_encoder(config.model_name_or_path)
t = time.time()
emb = embed_texts(rows.texts, tok, model, 128, all_layers=True)
print("pooled", emb.shape, time.time() - t, flush=True)
np.save(CACHE + "/emb.npy", emb)
np.save(CACHE + "/labels.npy", rows.label_ids)
pickle.dump(rows.texts, open(CACHE + "/texts.pkl", "wb"))
enc = tok(list(rows.texts), truncation=True, max_length=128)
states = {-2: [None] * len(rows.texts), -3: [None] * len(rows.texts)}
t = time.time()
with torch.inference_mode():
    order = np.argsort([len(x) for x in enc["input_ids"]])
    for start in range(0, len(order), 64):
        idx = order[start:start + 64]
        batch = tok.pad({k: [enc[k][i] for i in idx] for k in ("input_ids", "attention_mask", "token_type_ids")}, return_tensors="pt")
        out = model(**batch, output_hidden_states=True)
        for j, i in enumerate(idx):
            n = int(batch["attention_mask"][j].sum())
            for layer in (-2, -3):
                states[layer][i] = out.hidden_states[layer][j, :n].to(torch.float16).numpy()
print("states", time.time() - t, sum(len(s) for s in states[-2]), flush=True)
pickle.dump(states, open(CACHE + "/states.pkl", "wb"), protocol=4)
