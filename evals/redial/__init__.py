"""Replay real ReDial dialogues through TalkRec and the baselines: `python -m evals.redial FILE... --out DIR`."""
