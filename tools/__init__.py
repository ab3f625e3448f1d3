"""Tools the agent calls: sequential recommenders, retriever, reranker, explainer (they never import agents)."""
