"""Local transformers backend: chat through the tokenizer's chat template, tool calls parsed back from
the text, streaming, and batched log-likelihood scoring. The embedded default is this class pointed at
the packaged model (see agents/llm/embedded.py).

Device "auto" means CUDA with bfloat16 when present, else CPU float32. Loading is lazy (first use).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.llm.base import BackendUnavailable, Message, ToolSpec, as_message
from agents.llm.chat_format import parse_tool_calls, render_prompt

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
        score_batch_size: int = 16,
        generator: Generator | None = None,
    ) -> None:
        self.model_ref = str(model)
        self.name = name
        self.device_pref = device
        # One thread on a busy shared CPU: two threads collapsed under load when measured here.
        self.threads = threads
        self.score_batch_size = score_batch_size
        self._generator = generator
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
            self._model = model.to(self.device).eval()
            self.load_seconds = time.perf_counter() - start
            log.info("loaded %s on %s (%s) in %.1fs", self.model_ref, self.device, dtype, self.load_seconds)
            return self._model

    # ---- generation ----------------------------------------------------------------------------
    def _model_generate(self, prompt: str, max_tokens: int, temperature: float) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        model = self.setup()
        tok = self.tokenizer
        inputs = tok(prompt, return_tensors="pt", add_special_tokens=False).to(self.device)
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
                failure.append(err)
                streamer.end()

        with self._lock:
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
        prompt = self.render(messages, tools)
        text = "".join(self._generate(prompt, max_tokens, temperature))
        content, calls = parse_tool_calls(text, tools) if tools else (text.strip(), [])
        return Message(role="assistant", content=content, tool_calls=calls)

    def stream(self, messages: Sequence[Any], max_tokens: int = 256) -> Iterator[str]:
        prompt = self.render(messages)
        for piece in self._generate(prompt, max_tokens, 0.0):
            if piece:
                yield piece

    # ---- scoring -------------------------------------------------------------------------------
    def score(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[float]:
        """Mean log-probability per token of each continuation given its prompt (length-normalised).

        Prompt and continuation are tokenized separately and joined, so the continuation's tokens are
        exactly the ones scored. Pairs are sorted by length and batched to keep padding small.
        """
        if len(prompts) != len(continuations):
            raise ValueError(f"score() got {len(prompts)} prompts and {len(continuations)} continuations; pass one prompt per continuation")
        if not prompts:
            return []
        import torch

        model = self.setup()
        tok = self.tokenizer
        encoded = []
        for p, c in zip(prompts, continuations, strict=True):
            p_ids = tok(p, add_special_tokens=False)["input_ids"]
            c_ids = tok(c, add_special_tokens=False)["input_ids"]
            if not c_ids:
                raise ValueError(f"continuation {c!r} has no tokens; pass non-empty candidate text")
            if not p_ids:  # the first continuation token needs something to be conditioned on
                p_ids = [tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id]
            encoded.append((p_ids + c_ids, len(p_ids)))
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
        out = [0.0] * len(encoded)
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), self.score_batch_size):
                idx = order[start : start + self.score_batch_size]
                width = max(len(encoded[i][0]) for i in idx)
                ids = torch.full((len(idx), width), tok.pad_token_id, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                target_mask = torch.zeros((len(idx), width), dtype=torch.bool)
                for row, i in enumerate(idx):
                    seq, n_prompt = encoded[i]
                    ids[row, : len(seq)] = torch.tensor(seq)
                    mask[row, : len(seq)] = 1
                    target_mask[row, n_prompt : len(seq)] = True
                ids, mask, target_mask = ids.to(self.device), mask.to(self.device), target_mask.to(self.device)
                logits = model(input_ids=ids, attention_mask=mask).logits.float()  # (B, L, V)
                logp = torch.log_softmax(logits[:, :-1], dim=-1)  # position t predicts token t+1
                token_lp = logp.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)  # (B, L-1)
                tmask = target_mask[:, 1:]
                mean_lp = (token_lp * tmask).sum(-1) / tmask.sum(-1)
                for row, i in enumerate(idx):
                    out[i] = float(mean_lp[row])
        return out

    def as_langchain(self) -> HFChatModel:
        from agents.llm.langchain_chat import HFChatModel

        return HFChatModel(backend=self)
