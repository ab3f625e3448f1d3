"""User simulator: seeded simulated users, TalkRec and baselines on the same messages, session metrics."""
