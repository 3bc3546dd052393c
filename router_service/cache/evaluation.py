"""Precision and recall of semantic matching on labelled question pairs, per similarity threshold.

    python -m router_service.cache.evaluation [--pairs FILE] [--dim N]

A pair is a paraphrase (one cached answer is right for both) or not (near miss, unrelated, other
language). A "hit" is similarity >= threshold and the guard passing. Precision is what matters most:
a wrong answer from cache is worse than a paid model call. The default threshold in
`SemanticCacheSettings` is the one this prints as recommended for the default embedder.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from router_service.cache.embedding import Embedder, LexicalEmbedder
from router_service.cache.guard import compatible, shape_of
from router_service.cache.semantic import SemanticIndex
from router_service.cache.text import words_of

PAIRS_FILE = Path(__file__).with_name("semantic_pairs.json")
THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))


@dataclass(frozen=True, slots=True)
class LabelledPair:
    a: str
    b: str
    paraphrase: bool
    kind: str
    lang: str


@dataclass(frozen=True, slots=True)
class ScoredPair:
    pair: LabelledPair
    similarity: float
    # Guard verdicts: numbers and negation only, and with the same content words too.
    guard_loose: bool
    guard_strict: bool


@dataclass(frozen=True, slots=True)
class Row:
    threshold: float
    true_hits: int
    false_hits: int
    paraphrases: int

    @property
    def precision(self) -> float:
        hits = self.true_hits + self.false_hits
        return self.true_hits / hits if hits else 1.0

    @property
    def recall(self) -> float:
        return self.true_hits / self.paraphrases if self.paraphrases else 0.0


def load_pairs(path: Path = PAIRS_FILE) -> list[LabelledPair]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [LabelledPair(p["a"], p["b"], p["label"] == "paraphrase", p["kind"], p["lang"]) for p in data["pairs"]]


def score(pairs: list[LabelledPair], embedder: Embedder) -> list[ScoredPair]:
    scored = []
    for pair in pairs:
        similarity = float(embedder.embed(pair.a) @ embedder.embed(pair.b))
        a, b = shape_of(pair.a), shape_of(pair.b)
        scored.append(
            ScoredPair(
                pair,
                similarity,
                compatible(a, b, same_content_words=False),
                compatible(a, b, same_content_words=True),
            )
        )
    return scored


def table(scored: list[ScoredPair], *, strict: bool, thresholds: tuple[float, ...] = THRESHOLDS) -> list[Row]:
    paraphrases = sum(s.pair.paraphrase for s in scored)
    rows = []
    for t in thresholds:
        hits = [s for s in scored if s.similarity >= t and (s.guard_strict if strict else s.guard_loose)]
        true_hits = sum(s.pair.paraphrase for s in hits)
        rows.append(Row(t, true_hits, len(hits) - true_hits, paraphrases))
    return rows


def recommend(rows: list[Row]) -> Row:
    """The best recall among the thresholds with no false hit (else the best precision); ties go higher."""
    clean = [r for r in rows if r.false_hits == 0]
    pool = clean or [max(rows, key=lambda r: r.precision)]
    return max(pool, key=lambda r: (r.recall, r.threshold))


@dataclass(frozen=True, slots=True)
class Simulation:
    queries: int
    correct: int
    wrong: int
    # Hits on a stored question the data does not label against the query (listed for inspection).
    unlabelled: tuple[tuple[str, str], ...]
    missed: int


def simulate(pairs: list[LabelledPair], embedder: Embedder, threshold: float) -> Simulation:
    """Store every first question in one index and ask every second one, so near misses compete with the
    true match as they would in a busy cache."""
    index = SemanticIndex(dim=embedder.dim, max_entries=len(pairs) * 2, threshold=threshold, same_content_words=True)
    context = b"eval"
    for text in {p.a for p in pairs}:
        index.add(context, text.encode("utf-8"), embedder.embed(text), shape_of(text))
    labels = {frozenset((p.a, p.b)): p.paraphrase for p in pairs}
    correct = wrong = missed = 0
    unlabelled: list[tuple[str, str]] = []
    for query in sorted({p.b for p in pairs}):
        matches = index.matches(context, embedder.embed(query), shape_of(query))
        if not matches:
            missed += any(labels.get(frozenset((a, query))) for a in {p.a for p in pairs})
            continue
        answered = matches[0].key.decode("utf-8")
        same_words = words_of(answered) == words_of(query)
        label = True if same_words else labels.get(frozenset((answered, query)))
        if label is None:
            unlabelled.append((query, answered))
        elif label:
            correct += 1
        else:
            wrong += 1
    return Simulation(len({p.b for p in pairs}), correct, wrong, tuple(unlabelled), missed)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=Path, default=PAIRS_FILE)
    parser.add_argument("--dim", type=int, default=128, help="lexical embedding dimension")
    args = parser.parse_args(argv)
    pairs = load_pairs(args.pairs)
    embedder = LexicalEmbedder(args.dim)
    scored = score(pairs, embedder)
    positives = sum(p.paraphrase for p in pairs)
    by_lang = {lang: sum(p.lang == lang for p in pairs) for lang in sorted({p.lang for p in pairs})}
    print(f"{len(pairs)} labelled pairs ({positives} paraphrases, {len(pairs) - positives} not); by language {by_lang}")
    print(f"lexical embedding, dim={args.dim}")
    recommended = None
    for strict in (False, True):
        guard = "numbers + negation + language + same content words" if strict else "numbers + negation + language"
        print(f"\nguard: {guard}")
        print("threshold  precision  recall  true_hits  false_hits")
        rows = table(scored, strict=strict)
        for r in rows:
            print(f"  {r.threshold:5.2f}     {r.precision:6.3f}  {r.recall:6.3f}  {r.true_hits:9d}  {r.false_hits:10d}")
        best = recommend(rows)
        print(f"  recommended: {best.threshold:.2f} (precision {best.precision:.3f}, recall {best.recall:.3f})")
        if strict:
            recommended = best
    assert recommended is not None
    print(f"\nper language at {recommended.threshold:.2f} with the default (strict) guard:")
    for lang in by_lang:
        subset = [s for s in scored if s.pair.lang == lang]
        (r,) = table(subset, strict=True, thresholds=(recommended.threshold,))
        print(
            f"  {lang:6} precision {r.precision:.3f} recall {r.recall:.3f} "
            f"({r.true_hits}/{r.paraphrases} paraphrases hit, {r.false_hits} false hits)"
        )
    sim = simulate(pairs, embedder, recommended.threshold)
    print(
        f"\nbusy-cache simulation at {recommended.threshold:.2f}: {sim.queries} second questions asked of an index "
        f"of all first questions: {sim.correct} correct hits, {sim.wrong} wrong hits, "
        f"{len(sim.unlabelled)} unlabelled hits, {sim.missed} with a paraphrase stored but missed"
    )
    for query, answered in sim.unlabelled:
        print(f"  unlabelled: {query!r} answered with {answered!r}")


if __name__ == "__main__":
    main()
