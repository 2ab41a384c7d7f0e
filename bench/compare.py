"""anliegen's encoder side by side with ONNX Runtime on the same weights, inputs and threads.

Run through `bench/compare` (which makes the pinned venv). Steps:
1. Reads the E5S1 file anliegen loads, dequantises it in numpy and builds a standard-op
   ONNX graph (`onnx_graph.py`).
2. Starts `anliegen bench-encoder` (the binary's own encoder: model thread, batching, threads
   from `model.threads`) and checks the peer's vectors against anliegen's on the reference
   sentences: cosine >= 0.999 for every one, else it stops without reporting any speed.
3. For 1 and 2 threads and two workloads (the Konstanz texts, and texts truncated to exactly
   128 tokens) it alternates runs of anliegen and the peer: throughput over the whole
   workload (best of the rounds), then single queries one after the other (p50/p99 over all
   rounds).

PyTorch is not measured: PyPI carries only the CUDA build of torch for Linux x86_64 (it
pulls the CUDA runtime packages, several GB); the CPU-only wheels are not on PyPI.
"""

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

import e5s1
import onnx_graph

REPO = Path(__file__).resolve().parent.parent
MIN_COSINE = 0.999
PREFIX = "query: "
PAD_ID = 1


def read_texts(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [row["text"] for row in csv.DictReader(f)]


def long_texts(texts, count, min_chars=1500):
    """Texts of at least 128 tokens: consecutive Konstanz texts joined until long enough."""
    out, current = [], []
    for t in texts * 4:
        current.append(t.replace("\n", " "))
        joined = " ".join(current)
        if len(joined) >= min_chars:
            out.append(joined)
            current = []
            if len(out) == count:
                break
    return out


def percentile(values, p):
    """Nearest rank, as benches/embed.rs."""
    s = sorted(values)
    rank = int(np.ceil(p / 100 * len(s)))
    return s[min(max(rank, 1), len(s)) - 1]


class Anliegen:
    """`anliegen bench-encoder` as a child process: one JSON request and answer per line."""

    def __init__(self, binary, config, threads, max_tokens):
        env = dict(os.environ)
        env.pop("RAYON_NUM_THREADS", None)
        env["ANLIEGEN__MODEL__THREADS"] = str(threads)
        env["ANLIEGEN__MODEL__MAX_TOKENS"] = str(max_tokens)
        env.setdefault("ANLIEGEN__LOG__LEVEL", "warn")
        args = [str(binary)]
        if config:
            args += ["--config", str(config)]
        self.proc = subprocess.Popen(
            args + ["bench-encoder"], cwd=REPO, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        self.ready = json.loads(self.proc.stdout.readline() or "null")
        if not self.ready or self.ready.get("threads") != threads:
            raise SystemExit(f"anliegen bench-encoder did not start with {threads} threads: {self.ready}")

    def ask(self, **request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("anliegen bench-encoder stopped")
        return json.loads(line)

    def embed(self, texts):
        a = self.ask(op="embed", texts=texts)
        return np.array(a["vectors"], dtype=np.float32), a["token_ids"]

    def throughput(self, texts):
        return len(texts) / self.ask(op="throughput", texts=texts)["seconds"]

    def singles(self, texts):
        return self.ask(op="singles", texts=texts)["ms"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class OnnxRuntime:
    """The peer: tokenizers + ONNX Runtime, length-sorted batches, mean pooling in the graph."""

    name = "onnxruntime"

    def __init__(self, model_bytes, tokenizer_path, threads, max_tokens, batch):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # shape-merge warnings of the optimiser
        self.session = ort.InferenceSession(
            model_bytes, options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.batch = batch

    def token_ids(self, texts):
        return [e.ids for e in self.tokenizer.encode_batch([PREFIX + t for t in texts])]

    def run(self, seqs):
        length = max(len(s) for s in seqs)
        ids = np.full((len(seqs), length), PAD_ID, dtype=np.int64)
        mask = np.zeros((len(seqs), length), dtype=np.int64)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = s
            mask[i, : len(s)] = 1
        return self.session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})[0]

    def embed(self, texts):
        seqs = self.token_ids(texts)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        out = np.zeros((len(seqs), 384), dtype=np.float32)
        for start in range(0, len(order), self.batch):
            chunk = order[start : start + self.batch]
            out[chunk] = self.run([seqs[i] for i in chunk])
        return out

    def throughput(self, texts):
        started = time.perf_counter()
        self.embed(texts)
        return len(texts) / (time.perf_counter() - started)

    def singles(self, texts):
        ms = []
        for t in texts:
            started = time.perf_counter()
            self.embed([t])
            ms.append((time.perf_counter() - started) * 1e3)
        return ms


def cosines(a, b):
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def check_parity(anliegen, peer, reference):
    """Every reference sentence: same token ids, cosine >= MIN_COSINE; else no report."""
    rows = [json.loads(l) for l in open(reference / "vectors.jsonl", encoding="utf-8")]
    texts = [r["text"] for r in rows]
    ours, our_ids = anliegen.embed(texts)
    ref = np.array([r["embedding"] for r in rows], dtype=np.float32)
    ref_cos = cosines(ours, ref)
    theirs = peer.embed(texts)
    peer_cos = cosines(ours, theirs)
    peer_ids = peer.token_ids(texts)
    same_ids = sum(a == b for a, b in zip(our_ids, peer_ids))
    print(
        f"parity on {len(texts)} reference sentences: anliegen vs reference min cosine "
        f"{ref_cos.min():.6f}; {peer.name} vs anliegen min cosine {peer_cos.min():.6f}; "
        f"token ids identical for {same_ids}/{len(texts)}"
    )
    if ref_cos.min() < MIN_COSINE or peer_cos.min() < MIN_COSINE or same_ids != len(texts):
        raise SystemExit(
            f"refusing to report: a cosine below {MIN_COSINE} or different token ids "
            "(the peers would not compute the same function)"
        )
    return {"anliegen_vs_reference_min_cosine": float(ref_cos.min()),
            f"{peer.name}_vs_anliegen_min_cosine": float(peer_cos.min())}


def measure(anliegen, peer, texts, singles, rounds):
    """Alternating runs; the order flips every round."""
    tput = {"anliegen": [], peer.name: []}
    lat = {"anliegen": [], peer.name: []}
    runners = {"anliegen": anliegen, peer.name: peer}
    names = ["anliegen", peer.name]
    # Warm-up of both (thread pools, page faults of the weights).
    anliegen.throughput(texts[:32])
    peer.throughput(texts[:32])
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            tput[name].append(runners[name].throughput(texts))
        for name in names if r % 2 == 0 else names[::-1]:
            lat[name].extend(runners[name].singles(singles))
    result = {}
    for name in names:
        result[name] = {
            "throughput": max(tput[name]),
            "throughput_runs": tput[name],
            "p50_ms": percentile(lat[name], 50),
            "p99_ms": percentile(lat[name], 99),
            "singles": len(lat[name]),
        }
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--config", default=None)
    ap.add_argument("--model-dir", default=str(REPO / "models/multilingual-e5-small"))
    ap.add_argument("--data", default=str(REPO / "../shared/data/konstanz/dev.csv"))
    ap.add_argument("--reference", default=str(REPO / "../shared/reference/multilingual-e5-small"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--singles", type=int, default=200, help="single queries per round (Konstanz)")
    ap.add_argument("--long-texts", type=int, default=96, help="texts in the 128-token set")
    ap.add_argument("--peer-batch", type=int, default=16)
    ap.add_argument("--json", default=None, help="write the results to this file")
    args = ap.parse_args()

    model_dir = Path(args.model_dir)
    weights, tokenizer = model_dir / "e5-small-q4.bin", model_dir / "tokenizer.json"
    for f in (weights, tokenizer, Path(args.data), Path(args.reference) / "vectors.jsonl"):
        if not f.exists():
            raise SystemExit(f"missing {f}")
    texts = read_texts(args.data)
    long = long_texts(texts, args.long_texts)
    header, w = e5s1.load(weights)
    started = time.perf_counter()
    model_bytes = onnx_graph.build(header, w)
    del w
    print(f"ONNX graph built from {weights.name} in {time.perf_counter() - started:.1f} s "
          f"({len(model_bytes) / 2**20:.0f} MiB, onnxruntime {ort.__version__})")
    print("PyTorch: not measured (PyPI has only the CUDA build of torch for Linux x86_64; "
          "the CPU-only wheels are not on PyPI)")

    workloads = [
        ("konstanz", 512, texts, texts[: args.singles]),
        ("128 tokens", 128, long, long[: max(args.singles // 4, 20)]),
    ]
    results = {"machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
                           "onnxruntime": ort.__version__},
               "rounds": args.rounds, "peer_batch": args.peer_batch, "runs": {}}
    parity_done = False
    for threads in [int(t) for t in args.threads.split(",")]:
        for label, max_tokens, work, singles in workloads:
            anliegen = Anliegen(args.binary, args.config, threads, max_tokens)
            peer = OnnxRuntime(model_bytes, tokenizer, threads, max_tokens, args.peer_batch)
            if not parity_done:
                results["parity"] = check_parity(anliegen, peer, Path(args.reference))
                parity_done = True
            _, ids = anliegen.embed(work[:64])
            peer_ids = peer.token_ids(work[:64])
            if ids != peer_ids:
                raise SystemExit(f"refusing to report: token ids differ on the {label} texts")
            lengths = [len(i) for i in peer.token_ids(work)]
            print(f"measuring {label} ({len(work)} texts, mean {np.mean(lengths):.1f} tokens), "
                  f"{threads} thread(s), {args.rounds} alternating rounds ...", flush=True)
            r = measure(anliegen, peer, work, singles, args.rounds)
            r["texts"] = len(work)
            r["mean_tokens"] = float(np.mean(lengths))
            results["runs"][f"{label} / {threads}"] = r
            anliegen.close()
            del peer

    print_table(results)
    summary(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
        print(f"wrote {args.json}")


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def summary(results):
    """The ratios the targets are judged by, at the top level of the JSON."""
    runs = results["runs"]
    for threads in ("1", "2"):
        for label, key in (("konstanz", ""), ("128 tokens", "_128")):
            r = runs.get(f"{label} / {threads}")
            if not r:
                continue
            a, o = r["anliegen"], r["onnxruntime"]
            suffix = key if threads == "2" else f"{key}_1thread"
            results[f"anliegen_vs_onnxruntime_throughput{suffix}"] = a["throughput"] / o["throughput"]
            results[f"anliegen_vs_onnxruntime_p50{suffix}"] = a["p50_ms"] / o["p50_ms"]
            results[f"anliegen_vs_onnxruntime_p99{suffix}"] = a["p99_ms"] / o["p99_ms"]


def print_table(results):
    print()
    print(f"machine: {results['machine']['cpu']}, {results['machine']['cores']} cores; "
          f"{results['rounds']} alternating rounds, throughput best round, latency over all rounds")
    head = ("| workload | threads | anliegen sent/s | ORT sent/s | ratio | anliegen p50 / p99 ms "
            "| ORT p50 / p99 ms | p50 ratio |")
    print(head)
    print("|---|---|---|---|---|---|---|---|")
    for key, r in results["runs"].items():
        label, threads = key.split(" / ")
        a, o = r["anliegen"], r["onnxruntime"]
        print(f"| {label} ({r['texts']} texts, mean {r['mean_tokens']:.0f} tokens) | {threads} "
              f"| {a['throughput']:.1f} | {o['throughput']:.1f} | {a['throughput'] / o['throughput']:.2f}x "
              f"| {a['p50_ms']:.1f} / {a['p99_ms']:.1f} | {o['p50_ms']:.1f} / {o['p99_ms']:.1f} "
              f"| {a['p50_ms'] / o['p50_ms']:.2f}x |")
    print()


if __name__ == "__main__":
    sys.exit(main())
