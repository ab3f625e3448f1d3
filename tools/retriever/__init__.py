"""Retriever tool: item sentences embedded with all-MiniLM-L6-v2 in ChromaDB; free-text search and "more like X" with exact filters."""

from tools.retriever.retriever import RetrievalResult, Retriever, open_retriever

__all__ = ["RetrievalResult", "Retriever", "open_retriever"]
