"""`python -m evals.gpu_check [--model PATH_OR_NAME]`: the opt-in GPU path of the hf backend.

On a CUDA machine: loads the model in bfloat16 on the GPU, checks that chat, streaming and batched
likelihood scoring work and agree with a float32 CPU run, and times them; writes
docs/results/gpu_check.{json,md}. Without CUDA it says so and exits 0 (CI never needs a GPU).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import date
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
PROMPT = "A user watched Star Wars (1977), The Empire Strikes Back (1980), Raiders of the Lost Ark (1981). Next they will watch:"
TITLES = [" Return of the Jedi (1983)", " Sense and Sensibility (1995)", " Toy Story (1995)", " Schindler's List (1993)", " Heat (1995)"] * 4


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="hf model name or folder (default: the converted embedded model)")
    parser.add_argument("--users", type=int, default=64, help="scoring calls (20 candidates each) to time")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; nothing to check. The GPU path is opt-in: run this on a machine with an NVIDIA GPU.")
        return 0

    from agents.llm.base import Message
    from agents.llm.embedded import ensure_converted
    from agents.llm.hf import HFBackend
    from data.settings import Settings

    model = args.model or str(ensure_converted(Settings().artifacts_dir))
    gpu = HFBackend(model, name="hf-cuda", device="cuda")
    t0 = time.perf_counter()
    lm = gpu.setup()
    load_s = time.perf_counter() - t0
    assert gpu.device == "cuda" and next(lm.parameters()).dtype == torch.bfloat16, "the hf backend must pick CUDA + bf16"

    msgs = [Message("user", "Name a famous science fiction movie.")]
    gpu.chat(msgs, max_tokens=8)  # warm-up (kernels, allocator)
    t0 = time.perf_counter()
    reply = gpu.chat(msgs, max_tokens=64)
    chat_s = time.perf_counter() - t0
    n_tokens = len(gpu.tokenizer(reply.content, add_special_tokens=False)["input_ids"])
    streamed = "".join(gpu.stream(msgs, max_tokens=64)).strip()

    gpu.score([PROMPT] * len(TITLES), TITLES)  # warm-up
    times = []
    for _ in range(args.users):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        gpu.score([PROMPT] * len(TITLES) + ["A user watched N/A. Next they will watch:"] * len(TITLES), TITLES * 2)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    gpu_scores = gpu.score([PROMPT] * 5, TITLES[:5])
    cpu_scores = HFBackend(model, name="hf-cpu", device="cpu", threads=4).score([PROMPT] * 5, TITLES[:5])
    max_diff = max(abs(a - b) for a, b in zip(gpu_scores, cpu_scores, strict=True))
    same_top = max(range(5), key=lambda i: gpu_scores[i]) == max(range(5), key=lambda i: cpu_scores[i])

    report = {
        "benchmark": "gpu_check",
        "model": model,
        "device": torch.cuda.get_device_name(0),
        "dtype": "bfloat16",
        "load_s": round(load_s, 2),
        "decode_tokens_per_s": round(n_tokens / chat_s, 1) if chat_s > 0 else None,
        "stream_matches_chat": streamed == reply.content.strip(),
        "score_call_p50_ms": round(1000 * sorted(times)[len(times) // 2], 1),
        "score_call_mean_ms": round(1000 * statistics.fmean(times), 1),
        "score_call": "20 candidates + 20 content-free (calibration) continuations, one call",
        "bf16_vs_fp32_cpu_max_abs_diff": round(max_diff, 4),
        "bf16_same_top_candidate_as_fp32": same_top,
        "command": "python -m evals.gpu_check " + " ".join(argv or []),
        "machine": f"{platform.machine()}, {torch.cuda.get_device_name(0)}",
        "date": date.today().isoformat(),
    }
    print(json.dumps(report, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=2) + "\n")
    rows = "\n".join(f"| {k} | {v} |" for k, v in report.items() if k not in ("benchmark", "command", "machine", "date"))
    (args.out / "gpu_check.md").write_text(
        f"### GPU path of the hf backend (bf16, batched scoring)\n\n| figure | value |\n|---|---|\n{rows}\n\n"
        f"Command: `{report['command']}`\n\nMachine: {report['machine']}. Date: {report['date']}.\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
