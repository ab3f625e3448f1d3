"""LoRA rec-tuning of a local causal LM for the reranker (TALLRec-style), on CPU, with `peft`.

Two ways of scoring a candidate, each tuned with its own loss:
- likelihood: the mean log-probability of the candidate's title after "A user watched ... Next they will
  watch:" (what the untuned reranker does); loss: softmax cross-entropy over the 20 candidates' scores, so
  the positive must out-score the negatives it is shown with (a list-wise loss, not plain language modelling).
- yesno: log p(" Yes") - log p(" No") after "A user watched .... Will they enjoy <title>? Answer:"; loss:
  binary cross-entropy per candidate, the positive weighted up to balance its 19 negatives.

The history is run once per example and its key/value cache shared by the 20 candidates (as the scorer does),
so a step costs one history plus 20 short continuations. Training stops on the early-stopping users' MRR
(train-split moments of other users), with a wall-clock cap as the last guard; the best adapter is kept.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from data.errors import MissingArtifact
from tools.reranker.likelihood import history_prompt
from tools.reranker.tuning_data import TuneExample
from tools.reranker.yesno import NO, YES, yesno_prompt, yesno_question

log = logging.getLogger(__name__)

Method = Literal["likelihood", "yesno"]
METHODS: tuple[str, ...] = ("likelihood", "yesno")
META = "talkrec-adapter.json"


@dataclass
class TuneConfig:
    method: str = "likelihood"
    rank: int = 8  # a small adapter: attention queries and values only
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    lr: float = 3e-4
    accumulate: int = 4  # examples per optimiser step
    epochs: int = 2
    eval_every: int = 80  # examples between early-stopping evaluations
    patience: int = 3  # evaluations without a better early-stopping MRR before stopping
    max_minutes: float = 20.0  # last guard; reported when it ends training
    max_history: int = 10  # most recent titles in the prompt
    seed: int = 0
    keep: str = "best"  # "best": the adapter at the best early-stopping MRR (the untuned model if none beat it); "last"


@dataclass
class TuneReport:
    method: str
    examples_seen: int = 0
    steps: int = 0
    evaluations: list[dict[str, float]] = field(default_factory=list)  # {"examples", "mrr", "ndcg10", "loss"}
    best_examples: int = 0
    best_mrr: float = 0.0
    base_mrr: float = 0.0  # the untuned model on the early-stopping examples
    stopped_by: str = "epochs"  # "epochs" | "patience" | "time"
    train_seconds: float = 0.0
    trainable_params: int = 0


def render(example: TuneExample, label_of: Callable[[int], str], method: str, max_history: int) -> tuple[str, list[str]]:
    """The shared prompt and one continuation per candidate, exactly as the scorer writes them."""
    titles = [label_of(i) for i in example.history][-max_history:]
    if method == "likelihood":
        return history_prompt(titles), [" " + label_of(i) for i in example.candidates]
    return yesno_prompt(titles), [yesno_question(label_of(i)) for i in example.candidates]


class CandidateScorer:
    """Scores one example's candidates with gradients (or without, for evaluation)."""

    def __init__(self, model: Any, tokenizer: Any, encode_pairs: Callable, method: str) -> None:
        self.model, self.tok, self.encode_pairs, self.method = model, tokenizer, encode_pairs, method
        if method == "yesno":
            yes, no = (tokenizer(a, add_special_tokens=False)["input_ids"] for a in (YES, NO))
            if len(yes) != 1 or len(no) != 1:
                raise ValueError(f"the yes/no verbalizer needs one-token answers; this tokenizer gives {yes} and {no}")
            self.yes, self.no = yes[0], no[0]

    def __call__(self, prompt: str, conts: Sequence[str]) -> Any:
        import torch

        pairs = self.encode_pairs([prompt] * len(conts), list(conts))
        p_ids, c_ids = pairs[0][0], [c for _, c in pairs]
        out = self.model(input_ids=torch.tensor([p_ids]), use_cache=True)
        cache, last = out.past_key_values, out.logits[0, -1].float()
        n, width = len(c_ids), max(len(c) for c in c_ids)
        pad = self.tok.pad_token_id
        ids = torch.full((n, width), pad, dtype=torch.long)
        cmask = torch.zeros((n, width), dtype=torch.long)
        for row, c in enumerate(c_ids):
            ids[row, : len(c)] = torch.tensor(c)
            cmask[row, : len(c)] = 1
        cache.batch_repeat_interleave(n)
        mask = torch.cat([torch.ones((n, len(p_ids)), dtype=torch.long), cmask], dim=1)
        logits = self.model(input_ids=ids, attention_mask=mask, past_key_values=cache, use_cache=True).logits.float()  # (n, W, V)
        if self.method == "yesno":
            ends = cmask.sum(-1) - 1  # each row's last real token predicts the answer
            final = logits[torch.arange(n), ends]  # (n, V)
            logp = torch.log_softmax(final, dim=-1)
            return logp[:, self.yes] - logp[:, self.no]
        lp_first = torch.log_softmax(last, dim=-1)[ids[:, 0]]
        lp_rest = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        return (lp_first + (lp_rest * cmask[:, 1:]).sum(-1)) / cmask.sum(-1)


def loss_of(scores: Any, label: int, method: str) -> Any:
    import torch
    import torch.nn.functional as F

    if method == "likelihood":
        return F.cross_entropy(scores.unsqueeze(0), torch.tensor([label]))
    target = torch.zeros_like(scores)
    target[label] = 1.0
    # the positive counts as much as its negatives together
    weight = torch.ones_like(scores)
    weight[label] = float(len(scores) - 1)
    return F.binary_cross_entropy_with_logits(scores, target, weight=weight) * len(scores) / (2 * (len(scores) - 1))


def rank_of_label(scores: Sequence[float], label: int) -> int:
    """1-based rank of the label among the scores; ties count against it (no credit for a flat model)."""
    return 1 + sum(1 for j, s in enumerate(scores) if j != label and s >= scores[label])


def evaluate(scorer: CandidateScorer, rendered: Sequence[tuple[str, list[str], int]]) -> dict[str, float]:
    import torch

    ranks = []
    with torch.no_grad():
        for prompt, conts, label in rendered:
            ranks.append(rank_of_label([float(v) for v in scorer(prompt, conts)], label))
    return {
        "mrr": sum(1 / r for r in ranks) / len(ranks),
        "ndcg10": sum((1 / math.log2(r + 1)) if r <= 10 else 0.0 for r in ranks) / len(ranks),
        "hr1": sum(r == 1 for r in ranks) / len(ranks),
    }


def tune(
    backend: Any,
    train: Sequence[TuneExample],
    stop: Sequence[TuneExample],
    label_of: Callable[[int], str],
    config: TuneConfig,
    progress: bool = True,
) -> tuple[Any, TuneReport]:
    """Attach a LoRA adapter to the backend's model and train it; returns (peft model with the best adapter, report)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from tqdm import tqdm

    if config.method not in METHODS:
        raise ValueError(f"unknown tuning method {config.method!r}; use one of {METHODS}")
    torch.manual_seed(config.seed)
    base = backend.setup()
    lora = LoraConfig(
        r=config.rank, lora_alpha=config.alpha, lora_dropout=config.dropout, target_modules=list(config.target_modules), task_type="CAUSAL_LM"
    )
    model = get_peft_model(base, lora)
    scorer = CandidateScorer(model, backend.tokenizer, backend._encode_pairs, config.method)
    report = TuneReport(method=config.method, trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad))

    def rendered(examples: Sequence[TuneExample]) -> list[tuple[str, list[str], int]]:
        return [(*render(e, label_of, config.method, config.max_history), e.label) for e in examples]

    train_r, stop_r = rendered(train), rendered(stop)
    model.eval()
    base_metrics = evaluate(scorer, stop_r)
    report.base_mrr = base_metrics["mrr"]
    report.evaluations.append({"examples": 0, **base_metrics, "loss": float("nan")})
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}
    report.best_mrr, since_best = base_metrics["mrr"], 0
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    rng = random.Random(config.seed)
    start = time.perf_counter()
    total = config.epochs * len(train_r)
    bar = tqdm(total=total, desc=f"LoRA tuning ({config.method})", unit="example", disable=not progress)
    losses: list[float] = []
    done = False
    for _ in range(config.epochs):
        order = list(range(len(train_r)))
        rng.shuffle(order)
        for j in order:
            if time.perf_counter() - start > config.max_minutes * 60:
                report.stopped_by, done = "time", True
                break
            model.train()
            prompt, conts, label = train_r[j]
            loss = loss_of(scorer(prompt, conts), label, config.method) / config.accumulate
            loss.backward()
            losses.append(float(loss.detach()) * config.accumulate)
            report.examples_seen += 1
            bar.update(1)
            if report.examples_seen % config.accumulate == 0:
                optimiser.step()
                optimiser.zero_grad()
                report.steps += 1
            if report.examples_seen % config.eval_every == 0:
                model.eval()
                metrics = evaluate(scorer, stop_r)
                mean_loss = sum(losses[-config.eval_every :]) / len(losses[-config.eval_every :])
                report.evaluations.append({"examples": report.examples_seen, **metrics, "loss": mean_loss})
                bar.set_postfix(loss=f"{mean_loss:.3f}", mrr=f"{metrics['mrr']:.3f}", best=f"{report.best_mrr:.3f}")
                if metrics["mrr"] > report.best_mrr:
                    report.best_mrr, report.best_examples, since_best = metrics["mrr"], report.examples_seen, 0
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}
                else:
                    since_best += 1
                    if since_best >= config.patience:
                        report.stopped_by, done = "patience", True
                        break
        if done:
            break
    bar.close()
    model.eval()
    if report.evaluations[-1]["examples"] != report.examples_seen:  # the examples since the last evaluation count too
        metrics = evaluate(scorer, stop_r)
        report.evaluations.append({"examples": report.examples_seen, **metrics, "loss": float("nan")})
        if metrics["mrr"] > report.best_mrr:
            report.best_mrr, report.best_examples = metrics["mrr"], report.examples_seen
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}
    report.train_seconds = time.perf_counter() - start
    if config.keep == "best":
        model.load_state_dict(best_state, strict=False)
    return model, report


# ---- saving and loading ------------------------------------------------------------------------


def adapter_dir(artifacts_dir: Path, model_key: str, dataset: str, method: str) -> Path:
    return Path(artifacts_dir) / "models" / f"{model_key}-rerank-lora" / dataset / method


def save_adapter(model: Any, path: Path, dataset_version: str, config: TuneConfig, report: TuneReport, extra: dict | None = None) -> Path:
    """The adapter weights (peft's own format) plus what they were tuned on; written to a temporary folder
    and renamed, so an interrupted save never leaves a half adapter that looks complete."""
    import shutil

    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(str(tmp))
    meta = {"dataset_version": dataset_version, "config": asdict(config), "report": asdict(report), **(extra or {})}
    (tmp / META).write_text(json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    return path


def read_adapter_meta(path: Path, dataset_version: str | None = None) -> dict:
    """The adapter's metadata; MissingArtifact when it is absent, unreadable or tuned on another dataset version."""
    meta_path = Path(path) / META
    fix = "run `python -m agents.llm.tune`"
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError as exc:
        raise MissingArtifact(f"no tuned reranker adapter at {path}; {fix}") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise MissingArtifact(f"the reranker adapter at {path} is unreadable ({exc}); {fix}") from exc
    if dataset_version is not None and meta.get("dataset_version") != dataset_version:
        raise MissingArtifact(
            f"the reranker adapter at {path} was tuned on dataset version {meta.get('dataset_version')}, not {dataset_version}; {fix}"
        )
    return meta


def merge_adapter(model: Any, path: Path) -> Any:
    """The base model with the adapter's weights merged in (scoring then costs what the base model costs)."""
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(path)).merge_and_unload()


def copy_backend_with(backend: Any, model: Any) -> Any:
    """A shallow copy of an HF backend that scores with `model` (e.g. the model being tuned, for evaluation)."""
    return backend.with_model(model)
