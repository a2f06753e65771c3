"""Labelled text for the text-classifier port: a sentiment corpus generated
offline from templates (the default), or the IMDB reviews (aclImdb folder).

The generated corpus is built so that no single word gives the label away
while the label is still fully determined by the sentence (see
`generate_reviews`), which makes it a test of reading word order rather than
of spotting a keyword.
"""
from pathlib import Path

import numpy as np

SUBJECTS = ["the movie", "this film", "the story", "the plot", "the acting", "the cast",
            "the script", "the soundtrack", "the ending", "the dialogue", "the director's work",
            "the pacing", "the camera work", "the lead actor", "the humour", "the first half",
            "the second half", "it"]
VERBS = ["was", "is", "felt", "seemed", "looked", "turned out to be", "came across as"]
INTENSIFIERS = ["", "", "", "very", "really", "quite", "truly", "rather", "so", "pretty",
                "incredibly"]
POSITIVE = ["good", "great", "wonderful", "brilliant", "enjoyable", "moving", "clever",
            "beautiful", "superb", "charming", "gripping", "delightful", "fun", "impressive",
            "excellent", "memorable"]
NEGATIVE = ["bad", "awful", "boring", "dull", "terrible", "clumsy", "weak", "tedious",
            "forgettable", "painful", "bland", "messy", "poor", "disappointing", "predictable",
            "annoying"]
NEGATIONS = ["not", "never", "hardly", "by no means", "far from"]
OPENERS = ["", "", "", "honestly,", "overall,", "i think", "to be fair,", "in my opinion,",
           "well,", "frankly,", "all in all,"]
ENDINGS = ["", ".", ".", "!", "...", "!!"]
SUBORDINATORS = ["although", "even though", "though", "despite the fact that"]


def _pick(rng, words):
    return words[rng.integers(len(words))]


def _clause(rng, polarity):
    """'<subject> <verb> [negation] [intensifier] <adjective>' meaning
    `polarity` (+1 or -1): half the time a negated adjective of the
    opposite polarity, so adjectives and negations carry no label alone."""
    negated = rng.random() < 0.5
    adjective_polarity = -polarity if negated else polarity
    words = [_pick(rng, SUBJECTS), _pick(rng, VERBS)]
    if negated:
        negation = _pick(rng, NEGATIONS)
        words.append(negation.upper() if rng.random() < 0.1 else negation)
    words.append(_pick(rng, INTENSIFIERS))
    words.append(_pick(rng, POSITIVE if adjective_polarity > 0 else NEGATIVE))
    return " ".join(w for w in words if w)


def _sentence(rng, label):
    """One review with sentiment `label` (1 positive, 0 negative). The label
    is always the polarity of the main clause; where the main clause is
    depends on the sentence's form."""
    main = 1 if label else -1
    kind = rng.random()
    if kind < 0.35:    # one clause
        body = _clause(rng, main)
    elif kind < 0.55:  # contrast: the clause after "but" wins
        body = f"{_clause(rng, -main)}, but {_clause(rng, main)}"
    elif kind < 0.70:  # concession first: "although A, B" means B
        body = f"{_pick(rng, SUBORDINATORS)} {_clause(rng, -main)}, {_clause(rng, main)}"
    elif kind < 0.85:  # concession last: "B although A" means B
        body = f"{_clause(rng, main)} {_pick(rng, SUBORDINATORS)} {_clause(rng, -main)}"
    else:              # agreement
        body = f"{_clause(rng, main)} and {_clause(rng, main)}"
    text = " ".join(w for w in (_pick(rng, OPENERS), body) if w) + _pick(rng, ENDINGS)
    return text[0].upper() + text[1:]


def generate_reviews(n, seed):
    """n short movie-review sentences and their labels (int64, 1 = positive),
    balanced, from templates.

    Why it is a fair task for a sequence model:
    - not solvable from one word: every adjective is negated half the time
      and every clause form occurs with both labels, so each word appears
      about equally often in positive and negative reviews (no single-word
      rule beats ~55%);
    - not solvable from a bag of words either: the label is the XOR of
      "adjective is positive" and "clause is negated", taken in the main
      clause only, and which clause is the main one depends on word order
      ("A, but B" vs "although A, B" vs "B although A");
    - not impossible: the label follows from the sentence by a fixed rule a
      reader applies without hesitation, with no label noise.
    """
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 2).astype(np.int64)
    texts = [_sentence(rng, int(label)) for label in labels]
    return texts, labels


def best_single_word_accuracy(texts, labels):
    """Accuracy of the best rule "positive iff word w occurs" (or its
    negation), over all words w: how far one keyword gets."""
    labels = np.asarray(labels)
    best = max(labels.mean(), 1 - labels.mean())
    vocab = sorted({w for t in texts for w in t.split()})
    for word in vocab:
        has = np.array([word in t.split() for t in texts])
        acc = (has == labels.astype(bool)).mean()
        best = max(best, acc, 1 - acc)
    return float(best)


def load_imdb(data_dir, train=True):
    """The IMDB reviews from an unpacked aclImdb_v1.tar.gz: texts and labels
    (1 = positive) from <data_dir>/{train,test}/{pos,neg}/*.txt (or the same
    under <data_dir>/aclImdb)."""
    root = Path(data_dir)
    split = "train" if train else "test"
    base = next((r for r in (root, root / "aclImdb") if (r / split / "pos").is_dir()), None)
    if base is None:
        raise FileNotFoundError(
            f"IMDB {split} reviews not found: expected folders {split}/pos and {split}/neg "
            f"with .txt files in '{root}' or '{root / 'aclImdb'}' (the unpacked "
            "aclImdb_v1.tar.gz from https://ai.stanford.edu/~amaas/data/sentiment/)")
    texts, labels = [], []
    for label, folder in ((1, "pos"), (0, "neg")):
        for path in sorted((base / split / folder).glob("*.txt")):
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
            labels.append(label)
    if not texts:
        raise FileNotFoundError(f"no .txt reviews in '{base / split}/pos' or '/neg'")
    return texts, np.array(labels, dtype=np.int64)
