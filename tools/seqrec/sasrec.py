"""SASRec (Kang & McAuley 2018): a causal Transformer over the item sequence, tied item embeddings."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class SASRecConfig:
    n_items: int  # catalog size; model index 0 is padding, items are 1..n_items
    max_len: int = 200  # most recent items the model reads
    hidden: int = 64  # embedding and model width
    n_layers: int = 2
    n_heads: int = 2
    inner: int = 256  # feed-forward width
    dropout: float = 0.3  # embedding and residual dropout (no attention dropout: on CPU it forces SDPA's slow path)
    # "post": LayerNorm after each residual sum and on the input embeddings, as in the SASRec paper and RecBole;
    # "pre": LayerNorm before each sublayer, a final one, and item embeddings scaled by sqrt(hidden). On ML-100K
    # "post" scored higher in both rankings (docs/results/seqrec_ablation.md); "pre" is kept for that ablation.
    norm: str = "post"

    def __post_init__(self) -> None:
        if self.norm not in ("pre", "post"):
            raise ValueError(f"SASRecConfig.norm must be 'pre' or 'post', got {self.norm!r}")


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: SASRecConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.hidden, 3 * cfg.hidden)
        self.proj = nn.Linear(cfg.hidden, cfg.hidden)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, length, d = x.shape  # (B, L, D)
        q, k, v = self.qkv(x).split(d, dim=2)
        # (B, H, L, D/H)
        q, k, v = (t.view(b, length, self.n_heads, d // self.n_heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.proj(y.transpose(1, 2).reshape(b, length, d))


class Block(nn.Module):
    """Transformer block, post-norm: ln(x + attn(x)), ln(x + ffn(x)); or pre-norm: x + attn(ln(x)), x + ffn(ln(x))."""

    def __init__(self, cfg: SASRecConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.hidden)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.hidden)
        self.ffn = nn.Sequential(nn.Linear(cfg.hidden, cfg.inner), nn.GELU(), nn.Linear(cfg.inner, cfg.hidden))
        self.drop = nn.Dropout(cfg.dropout)
        self.post = cfg.norm == "post"

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        if self.post:
            x = self.ln1(x + self.drop(self.attn(x, bias)))
            return self.ln2(x + self.drop(self.ffn(x)))
        x = x + self.drop(self.attn(self.ln1(x), bias))
        return x + self.drop(self.ffn(self.ln2(x)))


class SASRec(nn.Module):
    def __init__(self, cfg: SASRecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.item_emb = nn.Embedding(cfg.n_items + 1, cfg.hidden, padding_idx=0)
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.hidden)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        # post-norm normalises the input embeddings; pre-norm normalises the last block's output
        self.ln = nn.LayerNorm(cfg.hidden)
        self.apply(_init_weights)

    def forward(self, seqs: torch.Tensor) -> torch.Tensor:
        """seqs (B, L) left-padded item indices -> hidden states (B, L, D); position t has read items <= t."""
        _, length = seqs.shape
        # Positions count back from the most recent item, so the last position always has the same
        # embedding whatever the history length (training windows and chat histories differ in length).
        pos = torch.arange(length - 1, -1, -1, device=seqs.device).clamp(max=self.cfg.max_len - 1)
        post = self.cfg.norm == "post"
        x = self.item_emb(seqs) * (1.0 if post else self.cfg.hidden**0.5) + self.pos_emb(pos)[None]
        if post:
            x = self.ln(x)
        real = (seqs > 0).unsqueeze(-1)  # (B, L, 1)
        x = self.drop(x) * real
        causal = torch.ones(length, length, dtype=torch.bool, device=seqs.device).tril()
        # A query may attend to earlier real items and always to itself (so padded rows are never empty).
        allowed = causal & (real.transpose(1, 2) | torch.eye(length, dtype=torch.bool, device=seqs.device))  # (B, L, L)
        # An additive float mask (0 / -inf) takes SDPA's fused CPU kernel; a boolean one is slower.
        bias = torch.zeros(allowed.shape, dtype=x.dtype, device=seqs.device).masked_fill(~allowed, float("-inf")).unsqueeze(1)  # (B, 1, L, L)
        for block in self.blocks:
            x = block(x, bias) * real
        return x if post else self.ln(x)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden (..., D) -> scores over every item index (..., n_items + 1); column 0 is padding."""
        return hidden @ self.item_emb.weight.T

    def score_all(self, seqs: torch.Tensor) -> torch.Tensor:
        """seqs (B, L) -> next-item scores (B, n_items + 1) from the last position."""
        return self.logits(self.forward(seqs)[:, -1])


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=0.02)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
        if module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()
