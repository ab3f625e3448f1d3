"""GRU4Rec (Hidasi et al. 2016), session-parallel mini-batches replaced by whole left-padded sequences."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class GRU4RecConfig:
    n_items: int  # catalog size; model index 0 is padding, items are 1..n_items
    max_len: int = 200  # most recent items the model reads
    embedding: int = 64  # item embedding width (also the output space: scores are dot products with it)
    hidden: int = 128  # GRU state width
    n_layers: int = 1
    dropout: float = 0.3  # on the input embeddings


class GRU4Rec(nn.Module):
    def __init__(self, cfg: GRU4RecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.item_emb = nn.Embedding(cfg.n_items + 1, cfg.embedding, padding_idx=0)
        self.drop = nn.Dropout(cfg.dropout)
        self.gru = nn.GRU(cfg.embedding, cfg.hidden, num_layers=cfg.n_layers, batch_first=True)
        self.out = nn.Linear(cfg.hidden, cfg.embedding)
        nn.init.normal_(self.item_emb.weight, std=0.02)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()

    def forward(self, seqs: torch.Tensor) -> torch.Tensor:
        """seqs (B, L) left-padded item indices -> hidden states (B, L, E); position t has read items <= t."""
        x = self.drop(self.item_emb(seqs))  # (B, L, E); padding rows are zero vectors
        h, _ = self.gru(x)  # (B, L, H)
        return self.out(h)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden (..., E) -> scores over every item index (..., n_items + 1); column 0 is padding."""
        return hidden @ self.item_emb.weight.T

    def score_all(self, seqs: torch.Tensor) -> torch.Tensor:
        """seqs (B, L) -> next-item scores (B, n_items + 1) from the last position."""
        return self.logits(self.forward(seqs)[:, -1])
