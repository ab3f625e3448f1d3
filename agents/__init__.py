"""The conversational agent: dialogue state, understanding, policies, answers; agents/llm holds the backends."""
