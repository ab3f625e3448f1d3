"""Fault injection into a running TalkRec: `python -m evals.faults` writes docs/results/faults.{json,md}.

Each fault is injected into the real services (agents.services.build_services) while a conversation runs,
and what the user sees is recorded: the reply, its notice, the trace steps marked fallback, whether the
session kept everything, and whether the next turn works again without a notice once the part is back.
- llm.py: the OpenAI-compatible backend refusing connections, hanging, answering HTTP 500, sending
  malformed tool calls (evals/faulty_llm.py is the misbehaving server);
- chroma.py: a real Chroma server stopped mid-conversation, then started again;
- startup.py: missing, truncated or mismatched artifacts at start-up.
"""
