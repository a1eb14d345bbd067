"""
The PyTorch reference point of `npm run bench`: the same GPT as workers/model.ts (nanoGPT's GPT
with bias=False: tied head, LayerNorm without bias, exact GELU, N(0, 0.02) init with residual
projections scaled by 1/sqrt(2 nLayer)), the same AdamW (betas 0.9/0.99, decay 0.1 on weight
matrices only, global-norm clipping at 1.0), the same corpus split and random minibatches,
timed the same way: the first step apart, then a warm-up, then the median of the timed steps.
Prints one JSON object.

    /usr/bin/python3 tests/bench/torch_gpt.py --corpus datasets/dist/moby-dick.txt \
        --layers 2 --heads 4 --embd 64 --ctx 64 --batch 16 --warmup 2 --steps 12 --sample-chars 32

Needs PyTorch (Debian: apt-get install python3-torch libopenblas0-pthread). `--device cuda` trains
on the GPU instead (the packaged bench, tests/bench/package.ts, asks for it where CUDA works).
"""
import argparse, json, math, statistics, time
import torch, torch.nn as nn
from torch.nn import functional as F

p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
p.add_argument('--corpus', required=True)         # a UTF-8 text file
p.add_argument('--layers', type=int, default=2)
p.add_argument('--heads', type=int, default=4)
p.add_argument('--embd', type=int, default=64)
p.add_argument('--ctx', type=int, default=64)
p.add_argument('--batch', type=int, default=16)
p.add_argument('--warmup', type=int, default=2)     # steps after the first, before the clock starts
p.add_argument('--steps', type=int, default=12)     # timed steps
p.add_argument('--sample-chars', type=int, default=32)
p.add_argument('--threads', type=int, default=1)    # 1: the same core count as tfjs's wasm and cpu backends in Node
p.add_argument('--seed', type=int, default=1337)
p.add_argument('--device', default='cpu')           # cpu, or cuda (loss.item() each step waits for the GPU, so the timing holds)
args = p.parse_args()
dev = torch.device(args.device)
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)

text = open(args.corpus, encoding='utf-8').read()
vocab = sorted(set(text), key=ord)                   # code points, sorted: the tokenizer's vocabulary
stoi = {c: i for i, c in enumerate(vocab)}
ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
n_train = int(len(ids) * 0.9)
train, val = ids[:n_train], ids[n_train:]
V, T, B, C, H, L = len(vocab), args.ctx, args.batch, args.embd, args.heads, args.layers

class LayerNorm(nn.Module):
    def __init__(self, n):
        super().__init__(); self.weight = nn.Parameter(torch.ones(n))
    def forward(self, x): return F.layer_norm(x, self.weight.shape, self.weight, None, 1e-5)

class CausalSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = nn.Linear(C, 3 * C, bias=False); self.c_proj = nn.Linear(C, C, bias=False)
        self.register_buffer('mask', torch.full((T, T), -1e9).triu(1))  # additive, built once, as in model.ts
    def forward(self, x):
        b, t, _ = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (z.view(b, t, H, C // H).transpose(1, 2) for z in (q, k, v))  # (B, nh, T, hs)
        att = F.softmax((q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // H)) + self.mask[:t, :t], dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).contiguous().view(b, t, C))

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.attn, self.ln_2 = LayerNorm(C), CausalSelfAttention(), LayerNorm(C)
        self.mlp = nn.Sequential(nn.Linear(C, 4 * C, bias=False), nn.GELU(), nn.Linear(4 * C, C, bias=False))
    def forward(self, x):
        x = x + self.attn(self.ln_1(x)); return x + self.mlp(self.ln_2(x))

class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
        self.h = nn.ModuleList([Block() for _ in range(L)]); self.ln_f = LayerNorm(C)
        for name, w in self.named_parameters():
            if w.dim() == 2: nn.init.normal_(w, 0.0, 0.02 / math.sqrt(2 * L) if name.endswith(('c_proj.weight', 'mlp.2.weight')) else 0.02)
    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.size(1), device=idx.device))
        for blk in self.h: x = blk(x)
        return self.ln_f(x) @ self.wte.weight.t()  # the head is the embedding, transposed

model = GPT().to(dev)
params = sum(w.numel() for w in model.parameters())
decay = [w for w in model.parameters() if w.dim() >= 2]
no_decay = [w for w in model.parameters() if w.dim() < 2]
opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}], lr=1e-3, betas=(0.9, 0.99), eps=1e-8)

def get_batch():
    ix = torch.randint(len(train) - T, (B,))
    return torch.stack([train[i:i + T] for i in ix]).to(dev), torch.stack([train[i + 1:i + T + 1] for i in ix]).to(dev)

def train_step():
    x, y = get_batch()
    loss = F.cross_entropy(model(x).view(-1, V), y.view(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item()

t0 = time.perf_counter(); train_step(); first_ms = (time.perf_counter() - t0) * 1000
for _ in range(args.warmup): train_step()
step_ms, loss = [], float('nan')
cpu0 = time.process_time()
for _ in range(args.steps):
    t0 = time.perf_counter(); loss = train_step(); step_ms.append((time.perf_counter() - t0) * 1000)
cpu_ms = (time.process_time() - cpu0) * 1000 / args.steps  # every thread of the process
ms = statistics.median(step_ms)

# Sampling at full context, without a cache: a [1, T] forward per character, as generate() without one.
char_ms = []
context = val[:T].tolist()
with torch.no_grad():
    for i in range(args.sample_chars + 1):
        t0 = time.perf_counter()
        probs = F.softmax(model(torch.tensor([context[-T:]], device=dev))[0, -1], dim=-1)
        context.append(int(torch.multinomial(probs, 1)))
        if i > 0: char_ms.append((time.perf_counter() - t0) * 1000)

print(json.dumps({
    'type': 'torch', 'torch': torch.__version__, 'device': str(dev), 'threads': torch.get_num_threads(), 'vocabSize': V, 'params': params,
    'firstStepMs': first_ms, 'msPerStep': ms, 'meanMsPerStep': sum(step_ms) / len(step_ms), 'cpuMsPerStep': cpu_ms, 'stepMs': step_ms,
    'tokensPerSec': B * T * 1000 / ms, 'loss': loss,
    'sampling': {'msPerChar': statistics.median(char_ms) if char_ms else None, 'chars': len(char_ms)},
}))
