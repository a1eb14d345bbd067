"""
Takes the next training step of a run exported by `npm run cli -- export-nanogpt` the way nanoGPT's
train.py would after `--init_from=resume`, with nothing but torch and numpy, and compares it with
tabgpt's own next step (tests/unit/export-nanogpt.test.ts takes that one and saves it).

    python3 tests/interop/nanogpt_next_step.py EXPORT_DIR NAME STARTS_JSON AFTER.safetensors

- reads config/train_NAME.py as train.py does (exec), data/NAME/meta.pkl, out-NAME/ckpt.pt (torch.load);
- builds nanoGPT's GPT module tree (bias=False; the causal-mask buffer only without
  scaled_dot_product_attention, as nanoGPT's model.py) and loads the state dict strictly;
- builds AdamW with configure_optimizers' two groups and loads the optimizer state;
- sets the learning rate from get_lr(iter_num) and takes one step on the rows of data/NAME/train.bin
  that start at STARTS_JSON (tabgpt's next minibatch), in gradient_accumulation_steps micro-batches
  of batch_size, clipping the global norm at grad_clip;
- prints JSON: the loss, the learning rate, and per tensor how far PyTorch's updated weights and
  moments are from tabgpt's (AFTER: a tabgpt checkpoint of the step after, in the same layout).
"""
import json, math, os, pickle, struct, sys
import numpy as np
import torch, torch.nn as nn
from torch.nn import functional as F

export_dir, name, starts_path, after_path = sys.argv[1:5]
torch.manual_seed(0)

def load_safetensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    header = json.loads(b[8:8+n]); data = b[8+n:]
    meta = header.pop('__metadata__', {})
    return meta, {k: torch.frombuffer(bytearray(data[e['data_offsets'][0]:e['data_offsets'][1]]), dtype=torch.float32).reshape(e['shape'])
                  for k, e in header.items()}

class LayerNorm(nn.Module):
    def __init__(self, ndim):
        super().__init__(); self.weight = nn.Parameter(torch.ones(ndim))
    def forward(self, x): return F.layer_norm(x, self.weight.shape, self.weight, None, 1e-5)

class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_attn = nn.Linear(c['n_embd'], 3 * c['n_embd'], bias=False)
        self.c_proj = nn.Linear(c['n_embd'], c['n_embd'], bias=False)
        self.attn_dropout = nn.Dropout(c['dropout']); self.resid_dropout = nn.Dropout(c['dropout'])
        self.n_head, self.n_embd, self.dropout = c['n_head'], c['n_embd'], c['dropout']
        self.flash = hasattr(F, 'scaled_dot_product_attention') # nanoGPT keeps the mask buffer only without it
        if not self.flash:
            T = c['block_size']
            self.register_buffer('bias', torch.tril(torch.ones(T, T)).view(1, 1, T, T))
    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if self.flash:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=self.dropout if self.training else 0, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf'))
            y = self.attn_dropout(F.softmax(att, dim=-1)) @ v
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))

class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c['n_embd'], 4 * c['n_embd'], bias=False); self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * c['n_embd'], c['n_embd'], bias=False); self.dropout = nn.Dropout(c['dropout'])
    def forward(self, x): return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

class Block(nn.Module):
    def __init__(self, c):
        super().__init__(); self.ln_1 = LayerNorm(c['n_embd']); self.attn = CausalSelfAttention(c); self.ln_2 = LayerNorm(c['n_embd']); self.mlp = MLP(c)
    def forward(self, x):
        x = x + self.attn(self.ln_1(x)); return x + self.mlp(self.ln_2(x))

class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(wte=nn.Embedding(c['vocab_size'], c['n_embd']), wpe=nn.Embedding(c['block_size'], c['n_embd']),
            drop=nn.Dropout(c['dropout']), h=nn.ModuleList([Block(c) for _ in range(c['n_layer'])]), ln_f=LayerNorm(c['n_embd'])))
        self.lm_head = nn.Linear(c['n_embd'], c['vocab_size'], bias=False)
        self.transformer.wte.weight = self.lm_head.weight # tied, as nanoGPT ties them
    def forward(self, idx, targets):
        t = idx.size(1)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(torch.arange(t)))
        for b in self.transformer.h: x = b(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

# train.py: the defaults it needs here, then the config file over them.
cfg = dict(grad_clip=1.0, decay_lr=True)
exec(open(os.path.join(export_dir, 'config', f'train_{name}.py')).read(), {}, cfg)
meta = pickle.load(open(os.path.join(export_dir, 'data', cfg['dataset'], 'meta.pkl'), 'rb'))
# On PyTorch 2, loaded with its safe unpickler (weights_only=True, the default from 2.6), as the
# README says ckpt.pt passes it. 1.13 has a first version of it that lacks BINFLOAT, the opcode of
# every float torch.save writes: no checkpoint with a float in it loads there, torch.save's own included.
weights_only = int(torch.__version__.split('.')[0]) >= 2
ckpt = torch.load(os.path.join(export_dir, cfg['out_dir'], 'ckpt.pt'), map_location='cpu', **({'weights_only': True} if weights_only else {}))
args = dict(ckpt['model_args'], dropout=cfg['dropout'])
assert args['vocab_size'] == meta['vocab_size'] == len(meta['itos']) == len(meta['stoi'])
model = GPT(args)
model.load_state_dict(ckpt['model']) # strict, as train.py loads it

# configure_optimizers: the >= 2-D weights decayed, the rest not, in named_parameters() order.
params = dict(model.named_parameters())
decay = [p for p in params.values() if p.dim() >= 2]; nodecay = [p for p in params.values() if p.dim() < 2]
optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': cfg['weight_decay']}, {'params': nodecay, 'weight_decay': 0.0}],
                              lr=cfg['learning_rate'], betas=(cfg['beta1'], cfg['beta2']))
optimizer.load_state_dict(ckpt['optimizer'])

def get_lr(it):
    if it < cfg['warmup_iters']: return cfg['learning_rate'] * (it + 1) / (cfg['warmup_iters'] + 1)
    if it > cfg['lr_decay_iters']: return cfg['min_lr']
    ratio = (it - cfg['warmup_iters']) / (cfg['lr_decay_iters'] - cfg['warmup_iters'])
    return cfg['min_lr'] + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (cfg['learning_rate'] - cfg['min_lr'])

iter_num = ckpt['iter_num']
lr = get_lr(iter_num) if cfg['decay_lr'] else cfg['learning_rate']
for g in optimizer.param_groups: g['lr'] = lr

# One iteration of train.py's loop on the given rows: gradient_accumulation_steps micro-batches.
data = np.memmap(os.path.join(export_dir, 'data', cfg['dataset'], 'train.bin'), dtype=np.uint16, mode='r')
starts = json.load(open(starts_path))
T, B, gas = cfg['block_size'], cfg['batch_size'], cfg['gradient_accumulation_steps']
assert len(starts) == B * gas, (len(starts), B, gas)
model.train()
loss_sum = 0.0
for micro in range(gas):
    ix = starts[micro * B:(micro + 1) * B]
    X = torch.stack([torch.from_numpy(data[i:i+T].astype(np.int64)) for i in ix])
    Y = torch.stack([torch.from_numpy(data[i+1:i+1+T].astype(np.int64)) for i in ix])
    _, loss = model(X, Y)
    loss = loss / gas
    loss.backward()
    loss_sum += loss.item()
if cfg['grad_clip'] != 0.0: torch.nn.utils.clip_grad_norm_(model.parameters(), cfg['grad_clip'])
optimizer.step()

_, after = load_safetensors(after_path)
def diff(ours, theirs):
    """How far PyTorch's tensor is from tabgpt's: the largest difference, alone and over the largest value."""
    d = (ours - theirs).abs().max().item()
    return dict(maxAbs=d, rel=d / theirs.abs().max().item())
before = ckpt['model']
report = {}
for n, p in params.items():
    st = optimizer.state[p]
    report[n] = dict(weight=diff(p.detach(), after[n]), moved=(after[n] - before[n]).abs().max().item(),
                     exp_avg=diff(st['exp_avg'], after['optimizer.exp_avg.' + n]),
                     exp_avg_sq=diff(st['exp_avg_sq'], after['optimizer.exp_avg_sq.' + n]), step=float(st['step']))
print(json.dumps(dict(loss=loss_sum, lr=lr, iter_num=iter_num, torch=torch.__version__, weightsOnly=weights_only, flash=hasattr(F, 'scaled_dot_product_attention'),
                      groups=[len(g['params']) for g in optimizer.param_groups], eps=optimizer.param_groups[0]['eps'], tensors=report)))
