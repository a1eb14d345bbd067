"""
Loads a tabgpt checkpoint into a PyTorch GPT built with nanoGPT's module names and layouts
(GPT with bias=False), with no dependency but torch, and prints the per-character surprisal of a
text in nats: the same numbers as `npm run cli -- score --checkpoint FILE --text TEXT`.

    python3 tests/interop/pytorch_score.py model.safetensors "Call me Ishmael."

Texts longer than the context slide a window, as tabgpt's score does: each character is predicted
from the context's worth of characters before it. Needs PyTorch (Debian: apt-get install
python3-torch libopenblas0-pthread); tests/unit/interop.test.ts runs it against the CLI.
"""
import json, math, struct, sys
import torch, torch.nn as nn
from torch.nn import functional as F

def load_safetensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    header = json.loads(b[8:8+n]); data = b[8+n:]
    meta = header.pop('__metadata__', {})
    sd = {}
    for k, e in header.items():
        s, t = e['data_offsets']
        sd[k] = torch.frombuffer(bytearray(data[s:t]), dtype=torch.float32).reshape(e['shape'])
    return meta, sd

class LayerNorm(nn.Module):
    def __init__(self, ndim):
        super().__init__(); self.weight = nn.Parameter(torch.ones(ndim))
    def forward(self, x): return F.layer_norm(x, self.weight.shape, self.weight, None, 1e-5)

class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_attn = nn.Linear(c['nEmbd'], 3*c['nEmbd'], bias=False); self.c_proj = nn.Linear(c['nEmbd'], c['nEmbd'], bias=False)
        self.n_head = c['nHead']; self.n_embd = c['nEmbd']
        self.register_buffer('bias', torch.tril(torch.ones(c['blockSize'], c['blockSize'])).view(1, 1, c['blockSize'], c['blockSize']))
    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf'))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

class MLP(nn.Module):
    def __init__(self, c):
        super().__init__(); self.c_fc = nn.Linear(c['nEmbd'], 4*c['nEmbd'], bias=False); self.gelu = nn.GELU(); self.c_proj = nn.Linear(4*c['nEmbd'], c['nEmbd'], bias=False)
    def forward(self, x): return self.c_proj(self.gelu(self.c_fc(x)))

class Block(nn.Module):
    def __init__(self, c):
        super().__init__(); self.ln_1 = LayerNorm(c['nEmbd']); self.attn = CausalSelfAttention(c); self.ln_2 = LayerNorm(c['nEmbd']); self.mlp = MLP(c)
    def forward(self, x):
        x = x + self.attn(self.ln_1(x)); return x + self.mlp(self.ln_2(x))

class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(wte=nn.Embedding(c['vocabSize'], c['nEmbd']), wpe=nn.Embedding(c['blockSize'], c['nEmbd']),
            h=nn.ModuleList([Block(c) for _ in range(c['nLayer'])]), ln_f=LayerNorm(c['nEmbd'])))
        self.lm_head = nn.Linear(c['nEmbd'], c['vocabSize'], bias=False)
        self.transformer.wte.weight = self.lm_head.weight
    def forward(self, idx):
        t = idx.size(1); x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(t))
        for b in self.transformer.h: x = b(x)
        return self.lm_head(self.transformer.ln_f(x))

meta, sd = load_safetensors(sys.argv[1])
cfg = json.loads(meta['config']); vocab = json.loads(meta['vocab'])
model = GPT(cfg)
missing, unexpected = model.load_state_dict({k: v for k, v in sd.items() if not k.startswith('optimizer.')}, strict=False)
assert not unexpected and all(k.endswith('.attn.bias') for k in missing), (missing, unexpected)
text = sys.argv[2]; ids = torch.tensor([[vocab.index(ch) for ch in text]])
T, L = cfg['blockSize'], ids.size(1)
with torch.no_grad():
    # Characters 1..T-1 from one pass over the first T; each later one from the T characters before it.
    logp = F.log_softmax(model(ids[:, :T]), dim=-1)[0]
    out = [-logp[t - 1, ids[0, t]].item() for t in range(1, min(L, T))]
    for t in range(T, L): out.append(-F.log_softmax(model(ids[:, t - T:t]), dim=-1)[0, -1, ids[0, t]].item())
print(json.dumps(out))
