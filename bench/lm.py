"""N-gram LM benchmark: Kneser-Ney build time and scoring throughput vs KenLM and NLTK.

Corpus (real English, public domain, fetched from Debian at bench time, nothing committed):
Jane Austen's six novels (Debian package ``r-cran-janeaustenr``) and the World English Bible
(``sword-text-web``), downloaded with ``apt-get download`` into the cache directory, lowercased,
split into sentences and word/punctuation tokens, shuffled with a fixed seed. The first
sentences up to ``--tokens`` (default 1M) train the models; the next 10,000 are scored.

Each measurement runs in its own child process (its peak RSS is the ``os.wait4`` maxrss):
- build: seqlab (count + smooth, then ARPA writing) vs KenLM ``lmplz -S 1G`` (only if on PATH)
  vs NLTK ``KneserNeyInterpolated.fit`` (on a ``--nltk-tokens`` slice, extrapolated linearly);
- scoring 10,000 sentences with the seqlab-built ARPA: seqlab batch (``score_batch``) and the
  decoder state API (``advance``) vs kenlm's Python ``full_scores`` vs NLTK ``score`` (a few
  hundred tokens, extrapolated). Throughput counts every scored token, ``</s>`` included.

    .venv/bin/python bench/lm.py [--tokens 1000000] [--cache ~/.cache/seqlab/bench_lm]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

PACKAGES = ("r-cran-janeaustenr", "sword-text-web")
TOKEN = re.compile(r"\w+(?:'\w+)?|[^\w\s]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
SCORE_SENTENCES = 10_000
GOALS = {"lmplz 3-gram s": 1.4, "lmplz 5-gram s": 2.7}


# ---------------------------------------------------------------------- corpus
def _fetch(cache: Path) -> Path:
    """Download and unpack the two Debian packages into ``cache`` (once)."""
    root = cache / "root"
    if (root / "done").exists():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    root.mkdir(exist_ok=True)
    for pkg in PACKAGES:
        if not list(cache.glob(f"{pkg}_*.deb")):
            r = subprocess.run(
                ["apt-get", "download", pkg], cwd=cache, capture_output=True, text=True
            )
            if r.returncode:
                sys.exit(
                    f"apt-get download {pkg} failed (run 'apt-get update' first?):\n{r.stderr}"
                )
        deb = next(cache.glob(f"{pkg}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    (root / "done").touch()
    return root


def _austen_lines(root: Path) -> list[str]:
    """Lines of the six novels from R's lazy-load database (zlib blocks of XDR character vectors)."""
    raw = (root / "usr/lib/R/site-library/janeaustenr/data/Rdata.rdb").read_bytes()
    pos, lines = 0, []
    while pos < len(raw):
        d = zlib.decompressobj()
        b = d.decompress(raw[pos + 4 :])
        pos = len(raw) - len(d.unused_data)
        p = 14  # "X\n", version, R version, min version
        (n,) = struct.unpack(">i", b[p : p + 4])
        p += 4 + n  # native encoding name
        flags, length = struct.unpack(">ii", b[p : p + 8])
        p += 8
        if flags & 0xFF != 16:  # not a character vector
            continue
        for _ in range(length):
            _, size = struct.unpack(">ii", b[p : p + 8])
            p += 8
            if size >= 0:
                lines.append(b[p : p + size].decode("utf-8"))
                p += size
    return lines


def _bible_text(root: Path) -> str:
    """Plain text of the World English Bible (SWORD zText: zlib blocks of OSIS markup)."""
    base = root / "usr/share/sword/modules/texts/ztext/engWEB2015eb"
    parts = []
    for testament in ("ot", "nt"):
        index = (base / f"{testament}.bzs").read_bytes()
        data = (base / f"{testament}.bzz").read_bytes()
        for i in range(len(index) // 12):
            off, size, _ = struct.unpack("<III", index[i * 12 : i * 12 + 12])
            parts.append(zlib.decompress(data[off : off + size]).decode("utf-8", "replace"))
    text = "".join(parts)
    text = re.sub(r"<note\b.*?</note>|<title\b.*?</title>", " ", text, flags=re.S)
    return re.sub(r"<[^>]*>", " ", text)


def corpus(cache: Path) -> list[str]:
    """Tokenized sentences of both texts, shuffled (seed 0); cached as ``sentences.txt``."""
    out = cache / "sentences.txt"
    if not out.exists():
        root = _fetch(cache)
        text = " ".join(_austen_lines(root)) + " " + _bible_text(root)
        sents = []
        for s in SENTENCE_END.split(" ".join(text.split())):
            toks = TOKEN.findall(s.lower())
            if toks:
                sents.append(" ".join(toks))
        random.Random(0).shuffle(sents)
        out.write_text("\n".join(sents) + "\n", encoding="utf-8")
    return out.read_text(encoding="utf-8").splitlines()


def split(sents: list[str], tokens: int) -> tuple[list[str], list[str]]:
    total = 0
    for i, s in enumerate(sents):
        total += len(s.split())
        if total >= tokens:
            return sents[: i + 1], sents[i + 1 : i + 1 + SCORE_SENTENCES]
    raise SystemExit(f"corpus has only {total} tokens")


# ---------------------------------------------------------------------- child tasks
def task_seqlab_build(train: str, order: int, arpa: str) -> dict:
    from seqlab.lm import TrainConfig, count_text, estimate_tables, write_arpa

    config = TrainConfig(order=order)
    t0 = time.perf_counter()
    counts = count_text(train, config)
    t1 = time.perf_counter()
    tables = estimate_tables(counts, config)
    t2 = time.perf_counter()
    write_arpa(tables, arpa)
    t3 = time.perf_counter()
    return {
        "count": t1 - t0,
        "smooth": t2 - t1,
        "write": t3 - t2,
        "total": t3 - t0,
        "ngrams": sum(tables.counts()),
    }


def task_lmplz(train: str, order: int, arpa: str) -> dict:
    """lmplz's time and peak RSS (its VmHWM, polled every 10 ms until it exits)."""
    t0 = time.perf_counter()
    cmd = ["lmplz", "-o", str(order), "-S", "1G", "--text", train, "--arpa", arpa]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_kb = 0
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            peak_kb = max(peak_kb, int(status.split("VmHWM:")[1].split()[0]))
        except (OSError, IndexError):
            pass
        time.sleep(0.01)
    if proc.returncode:
        raise SystemExit(f"lmplz failed with status {proc.returncode}")
    return {"total": time.perf_counter() - t0, "peak_mb": peak_kb / 1024}


def task_compare(ours: str, theirs: str) -> dict:
    """Largest |difference| of log10 probability and backoff over all n-grams (``<s>`` excluded)."""
    from seqlab.lm import read_arpa

    a, b = read_arpa(ours), read_arpa(theirs)
    worst = 0.0
    for k in range(1, a.order + 1):
        ta, tb = a.orders[k - 1], b.orders[k - 1]
        row = {g: i for i, g in enumerate(b.ngram_strings(k))}
        if len(row) != len(ta):
            return {"max_diff": float("inf"), "note": f"{k}-gram counts differ"}
        idx = [row[g] for g in a.ngram_strings(k)]
        diff = np.maximum(
            np.abs(ta.logprob - tb.logprob[idx]), np.abs(ta.logbackoff - tb.logbackoff[idx])
        )
        if k == 1:
            diff[a.bos_id] = abs(ta.logbackoff[a.bos_id] - tb.logbackoff[idx][a.bos_id])
        worst = max(worst, float(diff.max()))
    return {"max_diff": worst}


def task_nltk_fit(train: str, order: int, tokens: int) -> dict:
    from nltk.lm import KneserNeyInterpolated
    from nltk.lm.preprocessing import padded_everygram_pipeline

    sents, total = [], 0
    for line in Path(train).read_text(encoding="utf-8").splitlines():
        sents.append(line.split())
        total += len(sents[-1])
        if total >= tokens:
            break
    t0 = time.perf_counter()
    grams, vocab = padded_everygram_pipeline(order, sents)
    KneserNeyInterpolated(order).fit(grams, vocab)
    return {"total": time.perf_counter() - t0, "tokens": total}


def task_seqlab_score(arpa: str, test: str) -> dict:
    from seqlab.lm import load_arpa

    sents = Path(test).read_text(encoding="utf-8").splitlines()
    t0 = time.perf_counter()
    lm = load_arpa(arpa)
    t1 = time.perf_counter()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        scores = lm.score_batch(sents)
        best = min(best, time.perf_counter() - start)
    words = sum(len(s.split()) + 1 for s in sents)
    w0 = time.perf_counter()
    lm.advance(lm.begin_state(), "the")  # first call converts the tables to lists for scalar access
    warm = time.perf_counter() - w0
    lm._advance_cache.clear()
    t2 = time.perf_counter()
    for s in sents:
        state = lm.begin_state()
        for w in s.split():
            state, _ = lm.advance(state, w)
        lm.advance(state, "</s>")
    t3 = time.perf_counter()
    return {
        "load": t1 - t0,
        "batch": best,
        "words": words,
        "advance": t3 - t2,
        "warm": warm,
        "sum": float(scores.sum()),
    }


def task_kenlm_score(arpa: str, test: str) -> dict:
    import kenlm

    sents = Path(test).read_text(encoding="utf-8").splitlines()
    t0 = time.perf_counter()
    model = kenlm.Model(arpa)
    t1 = time.perf_counter()
    best, total = float("inf"), 0.0
    for _ in range(3):
        start = time.perf_counter()
        total = sum(p for s in sents for p, _, _ in model.full_scores(s))
        best = min(best, time.perf_counter() - start)
    return {
        "load": t1 - t0,
        "batch": best,
        "words": sum(len(s.split()) + 1 for s in sents),
        "sum": total,
    }


def task_nltk_score(train: str, test: str, order: int, fit_tokens: int, words: int) -> dict:
    from nltk.lm import KneserNeyInterpolated
    from nltk.lm.preprocessing import padded_everygram_pipeline

    sents, total = [], 0
    for line in Path(train).read_text(encoding="utf-8").splitlines():
        sents.append(line.split())
        total += len(sents[-1])
        if total >= fit_tokens:
            break
    grams, vocab = padded_everygram_pipeline(order, sents)
    model = KneserNeyInterpolated(order)
    model.fit(grams, vocab)
    scored, t0 = 0, time.perf_counter()
    for line in Path(test).read_text(encoding="utf-8").splitlines():
        toks = ["<s>"] * (order - 1) + line.split() + ["</s>"]
        for i in range(order - 1, len(toks)):
            model.logscore(toks[i], toks[i - order + 1 : i])
            scored += 1
        if scored >= words:
            break
    return {"total": time.perf_counter() - t0, "words": scored}


TASKS = {
    "seqlab_build": task_seqlab_build,
    "lmplz": task_lmplz,
    "compare": task_compare,
    "nltk_fit": task_nltk_fit,
    "seqlab_score": task_seqlab_score,
    "kenlm_score": task_kenlm_score,
    "nltk_score": task_nltk_score,
}


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM, reset at exec unlike ru_maxrss), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_child(name: str, *args) -> dict:
    """Run a task in a fresh interpreter; returns its JSON result plus ``rss_mb`` (peak RSS)."""
    cmd = [sys.executable, __file__, "--task", name, "--args", json.dumps(args)]
    out = subprocess.run(
        cmd, stdout=subprocess.PIPE, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"}
    ).stdout
    result = json.loads(out)
    result["rss_mb"] = result.pop("peak_mb", result.get("rss_mb"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tokens", type=int, default=1_000_000, help="training tokens (default 1M)"
    )
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/seqlab/bench_lm"))
    parser.add_argument(
        "--nltk-tokens", type=int, default=50_000, help="NLTK fit slice (extrapolated)"
    )
    parser.add_argument(
        "--nltk-words", type=int, default=300, help="tokens NLTK scores (extrapolated)"
    )
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--args", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.task:
        result = TASKS[args.task](*json.loads(args.args))
        result.setdefault("peak_mb", peak_rss_mb())
        print(json.dumps(result))
        return

    train_sents, test_sents = split(corpus(Path(args.cache)), args.tokens)
    work = Path(tempfile.mkdtemp(prefix="bench_lm_"))
    train, test = work / "train.txt", work / "test.txt"
    train.write_text("\n".join(train_sents) + "\n", encoding="utf-8")
    test.write_text("\n".join(test_sents) + "\n", encoding="utf-8")
    n_train = sum(len(s.split()) for s in train_sents)
    print(
        f"corpus: {n_train} training tokens in {len(train_sents)} sentences; {len(test_sents)} test sentences"
    )
    print(
        "source: Jane Austen's novels (Debian r-cran-janeaustenr) + World English Bible (Debian sword-text-web)\n"
    )
    has_lmplz = shutil.which("lmplz") is not None
    rows = []
    for order in (3, 5):
        arpa = str(work / f"seqlab{order}.arpa")
        ours = run_child("seqlab_build", str(train), order, arpa)
        row = [f"KN {order}-gram build (s)", f"{ours['total']:.2f} (count {ours['count']:.2f} + smooth "
               f"{ours['smooth']:.2f} + write {ours['write']:.2f}), {ours['rss_mb']:.0f} MB"]  # fmt: skip
        if has_lmplz:
            ken = run_child("lmplz", str(train), order, str(work / f"kenlm{order}.arpa"))
            row += [
                f"lmplz {ken['total']:.2f}, {ken['rss_mb']:.0f} MB",
                f"{ours['total'] / ken['total']:.2f}",
            ]
        else:
            goal = GOALS[f"lmplz {order}-gram s"]  # context only: not this run, not these tokens
            row += [f"lmplz not on PATH (the issue quotes {goal} s for 1M tokens)", "-"]
        rows.append(row)
        if has_lmplz:
            cmp = run_child("compare", arpa, str(work / f"kenlm{order}.arpa"))
            rows.append(
                [
                    f"KN {order}-gram max |log10 p or bo - lmplz's|",
                    f"{cmp['max_diff']:.1e}",
                    "lmplz ARPA",
                    "-",
                ]
            )
        nl = run_child("nltk_fit", str(train), order, args.nltk_tokens)
        est = nl["total"] * n_train / nl["tokens"]
        rows.append([f"KN {order}-gram build vs NLTK fit (s)", f"{ours['total']:.2f}",
                     f"NLTK {est:.1f} (extrapolated from {nl['tokens']} tokens: {nl['total']:.2f} s), "
                     f"{nl['rss_mb']:.0f} MB", f"{ours['total'] / est:.3f}"])  # fmt: skip
        s = run_child("seqlab_score", arpa, str(test))
        k = run_child("kenlm_score", arpa, str(test))
        wps, kwps = s["words"] / s["batch"], k["words"] / k["batch"]
        rows.append([f"score 10k sentences, {order}-gram (words/s)", f"{wps:,.0f} batch (load {s['load']:.2f} s, "
                     f"{s['rss_mb']:.0f} MB)", f"kenlm full_scores {kwps:,.0f} (load {k['load']:.2f} s, "
                     f"{k['rss_mb']:.0f} MB)", f"{wps / kwps:.2f}"])  # fmt: skip
        awps = s["words"] / s["advance"]
        rows.append(
            [
                f"state API advance, {order}-gram (words/s)",
                f"{awps:,.0f} (uncached; first call {s['warm']:.2f} s)",
                f"kenlm full_scores {kwps:,.0f}",
                f"{awps / kwps:.2f}",
            ]
        )
        assert abs(s["sum"] - k["sum"]) < 1e-4 * s["words"], (s["sum"], k["sum"])
        if order == 3:
            n = run_child(
                "nltk_score", str(train), str(test), order, args.nltk_tokens, args.nltk_words
            )
            nwps = n["words"] / n["total"]
            rows.append([f"score vs NLTK KN {order}-gram (words/s)", f"{wps:,.0f}",
                         f"NLTK {nwps:,.1f} ({n['words']} tokens, model fit on {args.nltk_tokens})", f"{wps / nwps:,.0f}"])  # fmt: skip
    header = ["measurement", "seqlab", "reference", "ratio seqlab/ref"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    print("\nbuild ratio < 1 is faster than the reference; throughput ratio > 1 is faster.")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
