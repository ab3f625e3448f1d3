"""LLM reranker: list-wise (Chat-Rec / LLMRank) or likelihood (LMRecSys) over a candidate list."""

from tools.reranker.core import rerank
from tools.reranker.protocols import ChatModel, PromptMessage, ScoringModel
from tools.reranker.result import RerankResult

__all__ = ["ChatModel", "PromptMessage", "RerankResult", "ScoringModel", "rerank"]
