"""Sequential recommenders (SASRec, GRU4Rec, popularity): `load_seqrec(...)` -> `SeqRecommender.recommend(history)`."""

from tools.seqrec.recommender import SeqRecommender, SeqRecResult, load_seqrec, training_caveat

__all__ = ["SeqRecResult", "SeqRecommender", "load_seqrec", "training_caveat"]
