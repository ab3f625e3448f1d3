"""The reranker's result type."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RerankResult:
    items: list[tuple[int, float]]  # (item_id, score), best first; always a permutation of the input ids
    method: str  # e.g. "likelihood-calibrated", "listwise-bootstrap5"
    notes: list[str] = field(default_factory=list)  # what happened, for traces ("dropped 2 titles the model invented")
    elapsed_s: float = 0.0

    @property
    def ids(self) -> list[int]:
        return [i for i, _ in self.items]
