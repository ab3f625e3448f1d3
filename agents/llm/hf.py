"""Local transformers backend: chat through the tokenizer's chat template, tool calls parsed back from
the text, streaming, and batched log-likelihood scoring. The embedded default is this class pointed at
the packaged model (see agents/llm/embedded.py).

Device "auto" means CUDA with bfloat16 when present, else CPU float32. Loading is lazy (first use).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.llm.base import BackendUnavailable, Message, ToolSpec, as_message
from agents.llm.chat_format import parse_tool_calls, render_prompt
from agents.llm.constrained import decide_call, fillable

if TYPE_CHECKING:
    from agents.llm.langchain_chat import HFChatModel

log = logging.getLogger(__name__)

# prompt text, max new tokens, temperature -> text pieces. The default runs the model; tests may script it.
Generator = Callable[[str, int, float], Iterator[str]]


class HFBackend:
    supports_tools = True
    supports_scoring = True

    def __init__(
        self,
        model: str | Path,
        *,
        name: str = "hf",
        device: str = "auto",
        threads: int | None = 1,
        score_batch_size: int = 64,
        generator: Generator | None = None,
        constrained_tools: bool = False,
        adapter: Path | None = None,
    ) -> None:
        self.model_ref = str(model)
        # A rec-tuned LoRA adapter (agents/llm/lora.py) merged into the weights at load time.
        self.adapter = Path(adapter) if adapter is not None else None
        self.name = name
        self.device_pref = device
        # One thread on a busy shared CPU: two threads collapsed under load when measured here.
        self.threads = threads
        self.score_batch_size = score_batch_size
        self._generator = generator
        # Small models cannot be trusted with free-form tool calls: with this on, a tool call is decoded
        # under constraint (agents/llm/constrained.py). The embedded default turns it on.
        self.constrained_tools = constrained_tools
        # Key/value cache of the last prompt run, reused for the prefix the next prompt shares with it
        # (the system prompt and tool list repeat on every turn; re-reading them cost most of a turn on CPU).
        self._prefix: tuple[list[int], Any] | None = None
        self._lock = threading.RLock()
        self._tokenizer: Any = None
        self._model: Any = None
        self.device: str | None = None
        self.load_seconds: float | None = None

    # ---- loading -------------------------------------------------------------------------------
    @property
    def tokenizer(self) -> Any:
        with self._lock:
            if self._tokenizer is None:
                from transformers import AutoTokenizer

                try:
                    self._tokenizer = AutoTokenizer.from_pretrained(self.model_ref)
                except OSError as err:
                    raise BackendUnavailable(
                        f"cannot load tokenizer for {self.model_ref!r} ({err}); give a local model folder or a cached hub name "
                        "(TALKREC_HF_MODEL), or run `python -m agents.llm.prepare` for the embedded model"
                    ) from err
                if self._tokenizer.pad_token_id is None:
                    self._tokenizer.pad_token = self._tokenizer.eos_token
            return self._tokenizer

    def setup(self) -> Any:
        """Load the model once (thread-safe); returns it."""
        with self._lock:
            if self._model is not None:
                return self._model
            import torch
            from transformers import AutoModelForCausalLM

            cuda = torch.cuda.is_available() and self.device_pref in ("auto", "cuda")
            self.device = "cuda" if cuda else "cpu"
            dtype = torch.bfloat16 if cuda else torch.float32
            if not cuda and self.threads:
                torch.set_num_threads(self.threads)
            start = time.perf_counter()
            _ = self.tokenizer
            try:
                model = AutoModelForCausalLM.from_pretrained(self.model_ref, dtype=dtype)
            except OSError as err:
                raise BackendUnavailable(
                    f"cannot load model {self.model_ref!r} ({err}); give a local folder or a cached hub name, "
                    "or run `python -m agents.llm.prepare` for the embedded model"
                ) from err
            if self.adapter is not None:
                from agents.llm.lora import merge_adapter

                model = merge_adapter(model, self.adapter)
            self._model = model.to(self.device).eval()
            self.load_seconds = time.perf_counter() - start
            log.info("loaded %s on %s (%s) in %.1fs", self.model_ref, self.device, dtype, self.load_seconds)
            return self._model

    def use_model(self, model: Any) -> None:
        """Score and generate with `model` from now on (a tuned or unloaded copy of the weights); the cached prompt
        prefix belongs to the old weights and is dropped."""
        with self._lock:
            self._model = model
            self._prefix = None

    def with_model(self, model: Any) -> Any:
        """A shallow copy of this backend (same tokenizer and settings) that scores with `model`, with its own lock
        and prompt cache: the model being tuned, evaluated beside the untouched original."""
        other = copy.copy(self)
        other._lock = threading.RLock()
        other.use_model(model)
        return other

    def _prefill(self, ids: Sequence[int]) -> tuple[Any, Any]:
        """Run `ids` through the model, reusing the cached prefix it shares with the previous prompt.

        Returns (cache covering exactly `ids`, logits of the next token). The cache object is kept for the
        next call: callers may extend it (generate does) but must hand back a batch of one; it is cropped
        to the shared prefix before reuse. Call with the lock held.
        """
        import torch
        from transformers import DynamicCache

        model = self.setup()
        ids = list(ids)
        if not ids:
            raise ValueError("cannot prefill an empty prompt; pass at least one token")
        shared = 0
        if self._prefix is not None:
            old_ids, cache = self._prefix
            limit = min(len(old_ids), len(ids) - 1)  # at least one token must run to produce next-token logits
            while shared < limit and old_ids[shared] == ids[shared]:
                shared += 1
        if shared:
            _crop_to(cache, shared)
        else:
            cache = DynamicCache(config=model.config)
        self._prefix = None  # if the forward pass fails, the half-updated cache must not be reused
        with torch.inference_mode():
            out = model(input_ids=torch.tensor([ids[shared:]], device=self.device), past_key_values=cache, use_cache=True, logits_to_keep=1)
        self._prefix = (ids, out.past_key_values)
        return out.past_key_values, out.logits[0, -1]

    # ---- generation ----------------------------------------------------------------------------
    def _model_generate(self, prompt: str, max_tokens: int, temperature: float) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        model = self.setup()
        tok = self.tokenizer
        inputs = tok(prompt, return_tensors="pt", add_special_tokens=False).to(self.device)
        ids = inputs["input_ids"][0].tolist()
        streamer = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=True)
        stop = threading.Event()

        class _Stop(StoppingCriteria):
            # Lets a consumer that stops reading end the generation thread early.
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return stop.is_set()

        kwargs: dict = {
            **inputs,
            "max_new_tokens": max_tokens,
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([_Stop()]),
            "pad_token_id": tok.pad_token_id,
            "do_sample": temperature > 0,
        }
        if temperature > 0:
            kwargs["temperature"] = temperature
        else:  # keep greedy decoding free of sampling defaults from generation_config
            kwargs.update(temperature=None, top_p=None, top_k=None)
        failure: list[BaseException] = []

        def work() -> None:
            try:
                with torch.inference_mode():
                    model.generate(**kwargs)
            except Exception as err:  # noqa: BLE001 - handed to the consumer's thread and re-raised there
                self._prefix = None  # a generation that died half-way may leave the cache part-written
                failure.append(err)
                streamer.end()

        with self._lock:
            if len(ids) > 1:
                # generate() runs only the tokens the cache does not cover
                kwargs["past_key_values"] = self._prefill(ids[:-1])[0]
            thread = threading.Thread(target=work, daemon=True)
            thread.start()
            try:
                yield from streamer
            finally:
                stop.set()
                thread.join()
        if failure:
            raise BackendUnavailable(f"generation failed on {self.name}: {failure[0]!r}; check the model and its device memory") from failure[0]

    def _generate(self, prompt: str, max_tokens: int, temperature: float) -> Iterator[str]:
        gen = self._generator or self._model_generate
        return gen(prompt, max_tokens, temperature)

    def render(self, messages: Sequence[Any], tools: Sequence[ToolSpec] = ()) -> str:
        return render_prompt(self.tokenizer, [as_message(m) for m in messages], tools)

    def chat(self, messages: Sequence[Any], tools: Sequence[ToolSpec] = (), max_tokens: int = 256, temperature: float = 0.0) -> Message:
        msgs = [as_message(m) for m in messages]
        prompt = self.render(msgs, tools)
        meta: dict = {}
        if tools and self.constrained_tools and msgs and msgs[-1].role != "tool":
            choices = [t for t in tools if fillable(t)]
            if choices:
                decided = decide_call(self, prompt, choices)
                probs = {k: round(v, 3) for k, v in decided.name_probs.items()}
                return Message(role="assistant", content="", tool_calls=[decided.call], meta={"constrained": True, "tool_probs": probs})
            # e.g. a structured-output schema with lists: the call cannot be constrained, so the model writes freely
            # and the caller's parser decides whether that is usable
            log.info("no tool with string-only arguments among %s; generating freely", [t.name for t in tools])
            meta = {"constrained": False, "note": "tools need non-string arguments; free generation"}
        text = "".join(self._generate(prompt, max_tokens, temperature))
        content, calls = parse_tool_calls(text, tools) if tools else (text.strip(), [])
        return Message(role="assistant", content=content, tool_calls=calls, meta=meta)

    def complete(self, prompt: str, max_tokens: int = 32, stop_at: str | None = None) -> str:
        """Greedy continuation of raw prompt text, cut before `stop_at`."""
        if self._generator is not None:
            text = "".join(self._generator(prompt, max_tokens, 0.0))
        else:
            text = self._greedy(prompt, max_tokens, stop_at)
        return text.split(stop_at, 1)[0] if stop_at else text

    def _greedy(self, prompt: str, max_tokens: int, stop_at: str | None) -> str:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        tok = self.tokenizer
        ids = tok(prompt, add_special_tokens=False)["input_ids"]
        start = len(ids)

        class _StopAt(StoppingCriteria):
            # A plain substring check on the new text: transformers' stop_strings precomputes over the whole
            # vocabulary, which costs more than the few tokens generated here.
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                hit = bool(stop_at) and stop_at in tok.decode(input_ids[0, start:])
                return torch.full((input_ids.shape[0],), hit, dtype=torch.bool, device=input_ids.device)

        with self._lock:
            model = self.setup()
            kwargs: dict = {
                "input_ids": torch.tensor([ids], device=self.device),
                "attention_mask": torch.ones((1, start), dtype=torch.long, device=self.device),
                "max_new_tokens": max_tokens,
                "stopping_criteria": StoppingCriteriaList([_StopAt()]),
                "pad_token_id": tok.pad_token_id,
                "do_sample": False,
                "temperature": None,
                "top_p": None,
                "top_k": None,
            }
            if start > 1:
                kwargs["past_key_values"] = self._prefill(ids[:-1])[0]
            try:
                with torch.inference_mode():
                    out = model.generate(**kwargs)
            except (RuntimeError, ValueError) as err:
                self._prefix = None  # a generation that died half-way may leave the cache part-written
                raise BackendUnavailable(f"generation failed on {self.name}: {err!r}; check the model and its device memory") from err
        return tok.decode(out[0, start:], skip_special_tokens=True)

    def stream(self, messages: Sequence[Any], max_tokens: int = 256) -> Iterator[str]:
        prompt = self.render(messages)
        for piece in self._generate(prompt, max_tokens, 0.0):
            if piece:
                yield piece

    # ---- scoring -------------------------------------------------------------------------------
    def _encode_pairs(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[tuple[list[int], list[int]]]:
        if len(prompts) != len(continuations):
            raise ValueError(f"score() got {len(prompts)} prompts and {len(continuations)} continuations; pass one prompt per continuation")
        tok = self.tokenizer
        # A model trained with a leading BOS (Gemma) scores far worse without it (measured: mean title log-prob
        # -3.1 vs -1.1 for Gemma 3 270M); tokenizers that add none by default (SmolLM2) get none.
        lead = [tok.bos_token_id] if tok.bos_token_id is not None and tok("a")["input_ids"][:1] == [tok.bos_token_id] else []
        pairs = []
        for p, c in zip(prompts, continuations, strict=True):
            # Tokenized separately, so the continuation's tokens are exactly the ones scored.
            p_ids = lead + tok(p, add_special_tokens=False)["input_ids"]
            c_ids = tok(c, add_special_tokens=False)["input_ids"]
            if not c_ids:
                raise ValueError(f"continuation {c!r} has no tokens; pass non-empty candidate text")
            if not p_ids:  # the first continuation token needs something to be conditioned on
                p_ids = [tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id]
            pairs.append((p_ids, c_ids))
        return pairs

    def score(self, prompts: Sequence[str], continuations: Sequence[str], normalise: bool = True) -> list[float]:
        """Mean log-probability per token of each continuation given its prompt (length-normalised), or
        the total log-probability with normalise=False (a choice among whole options).

        Continuations that share a prompt (the reranker's case: one history, many titles) reuse the
        prompt's key/value cache, so the prompt runs once and only the short titles run in a batch.
        """
        pairs = self._encode_pairs(prompts, continuations)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, (p_ids, _) in enumerate(pairs):
            groups.setdefault(tuple(p_ids), []).append(i)
        out = [0.0] * len(pairs)
        with self._lock:
            self.setup()
            for p_ids, idx in groups.items():
                for start in range(0, len(idx), self.score_batch_size):
                    chunk = idx[start : start + self.score_batch_size]
                    for i, value in zip(chunk, self._score_shared(list(p_ids), [pairs[i][1] for i in chunk], normalise), strict=True):
                        out[i] = value
        return out

    def _score_shared(self, p_ids: list[int], conts: list[list[int]], normalise: bool = True) -> list[float]:
        import torch

        model, pad = self._model, self.tokenizer.pad_token_id
        cache, last_logits = self._prefill(p_ids)
        with torch.inference_mode():
            last_lp = torch.log_softmax(last_logits.float(), dim=-1)  # (V,) predicts each continuation's first token
            width = max(len(c) for c in conts)
            ids = torch.full((len(conts), width), pad, dtype=torch.long)
            cmask = torch.zeros((len(conts), width), dtype=torch.long)
            for row, c in enumerate(conts):
                ids[row, : len(c)] = torch.tensor(c)
                cmask[row, : len(c)] = 1
            ids, cmask = ids.to(self.device), cmask.to(self.device)
            mask = torch.cat([torch.ones((len(conts), len(p_ids)), dtype=torch.long, device=self.device), cmask], dim=1)
            cache.batch_repeat_interleave(len(conts))
            try:
                logits = model(input_ids=ids, attention_mask=mask, past_key_values=cache, use_cache=True).logits.float()  # (B, Lc, V)
            finally:
                # back to the prompt alone, one row, so the next call can reuse it
                cache.batch_select_indices(torch.tensor([0], device=self.device))
                _crop_to(cache, len(p_ids))
            lp_first = last_lp[ids[:, 0]]  # (B,)
            lp_rest = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)  # (B, Lc-1)
            total = lp_first + (lp_rest * cmask[:, 1:]).sum(-1)
            result = total / cmask.sum(-1) if normalise else total
        return [float(v) for v in result]

    def score_unshared(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[float]:
        """The plain reference computation (each prompt+continuation run whole, one at a time); used to
        check the shared-prompt path."""
        import torch

        pairs = self._encode_pairs(prompts, continuations)
        out = []
        with self._lock, torch.inference_mode():
            model = self.setup()
            for p_ids, c_ids in pairs:
                ids = torch.tensor([p_ids + c_ids], device=self.device)
                logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), dim=-1)
                token_lp = logp.gather(-1, ids[0, 1:].unsqueeze(-1)).squeeze(-1)[len(p_ids) - 1 :]
                out.append(float(token_lp.mean()))
        return out

    def as_langchain(self) -> HFChatModel:
        from agents.llm.langchain_chat import HFChatModel

        return HFChatModel(backend=self)


def _crop_to(cache: Any, length: int) -> None:
    """Cut a key/value cache back to its first `length` positions, layer by layer (a forward pass that
    failed part-way leaves layers of different lengths)."""
    for layer in cache.layers:
        extra = layer.get_seq_length() - length
        if extra > 0:
            layer.crop(-extra)
