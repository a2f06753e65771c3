"""Port of a Keras bidirectional-LSTM text classifier (binary sentiment).

The original, step for step: the text lower-cased and stripped of all but
letters; a word-level Tokenizer over the 32,000 most frequent words;
sequences padded (and cut) at the front to a fixed length; a model of
Embedding(32000, 128) -> Bidirectional(LSTM(128)) (the final states of both
directions, concatenated) -> Dense(128, relu) -> Dense(1, sigmoid);
binary cross-entropy, Adam (Keras's defaults: lr 0.001, epsilon 1e-7), the
accuracy metric; fit for 3 epochs (batch 32) with a validation set; then
evaluate on the test set. Layers start from Keras's default initialisation
(glorot_uniform kernels, orthogonal recurrent kernels, forget-gate bias 1,
Embedding uniform(-0.05, 0.05)).

    python examples/ports/bilstm_text_classifier.py                 # generated corpus
    python examples/ports/bilstm_text_classifier.py --data-dir DIR  # IMDB (aclImdb)

Default data: 10,000 one-sentence movie reviews generated offline from
templates (text_data.py; 8,000 train, 1,000 validation, 1,000 test; same
corpus on every machine), e.g. "Frankly, though the camera work felt by no
means poor, the ending seemed not truly wonderful!!" (negative). It is a
fair task for a sequence model:
- no single word gives the label away: every sentiment adjective is negated
  half the time and every sentence form occurs with both labels (the best
  one-word rule scores ~52%, a bag-of-words logistic regression ~51%, a
  bag of words and word pairs ~57%);
- it is not impossible: the label is the polarity of the main clause, which
  a reader finds at a glance ("A, but B" and "although A, B" mean B; so
  does "B although A"), with no label noise.
Sentences are at most 27 words, so they are padded to the longest one
instead of to --maxlen 200 (all-padding steps would only cost time).

With --data-dir the IMDB reviews are read from an unpacked
aclImdb_v1.tar.gz (train/pos, train/neg, test/pos, test/neg); the last 20%
of the (shuffled) training reviews are the validation set.
"""
import numpy as np
from keras_like import (Compiled, Tokenizer, binary_crossentropy, clean_text,
                        keras_default_init, pad_sequences, summary)
from port_utils import parser
from text_data import generate_reviews, load_imdb

import tinygrad_dc as tg
from tinygrad_dc import nn, optim

if hasattr(nn, "LSTM"):
    LSTM = nn.LSTM
else:  # until tinygrad_dc.nn re-exports it
    from tinygrad_dc.nn.modules.rnn import LSTM

max_features = 32000  # the vocabulary: the 32,000 most frequent words
embedding_dim = 128


class Bidirectional(nn.Module):
    """layers.Bidirectional(layers.LSTM(units)): one LSTM reads forwards and
    one backwards; the output is their final hidden states, concatenated."""

    def __init__(self, input_size, units):
        super().__init__()
        self.lstm = LSTM(input_size, units, batch_first=True, bidirectional=True)

    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return tg.cat((h_n[-2], h_n[-1]), dim=1)  # forward's last step, backward's last step


def load_texts(args):
    """(train, validation, test) lists of (texts, labels)."""
    if args.data_dir is None:
        texts, labels = generate_reviews(10000, seed=0)
        parts = [(texts[a:b], labels[a:b]) for a, b in ((0, 8000), (8000, 9000), (9000, 10000))]
    else:
        texts, labels = load_imdb(args.data_dir, train=True)
        # the files come sorted by label: shuffle once (fixed seed) before splitting
        order = np.random.default_rng(0).permutation(len(texts))
        texts, labels = [texts[i] for i in order], labels[order]
        split_at = int(0.8 * len(texts))
        parts = [(texts[:split_at], labels[:split_at]), (texts[split_at:], labels[split_at:]),
                 load_imdb(args.data_dir, train=False)]
    if args.limit is not None:
        if args.limit < 1:
            raise SystemExit(f"error: --limit must be at least 1, got {args.limit}")
        sizes = (args.limit, max(args.limit // 4, 1), max(args.limit // 4, 1))
        parts = [(t[:n], y[:n]) for (t, y), n in zip(parts, sizes)]
    return parts


def main(argv=None):
    p = parser(__doc__.splitlines()[0], epochs=3, batch_size=32, lr=0.001,
               data_help="folder of the unpacked aclImdb_v1.tar.gz (default: generated corpus)")
    p.add_argument("--maxlen", type=int, default=200, help="words kept per text (the last ones)")
    p.add_argument("--max-features", type=int, default=max_features,
                   help="vocabulary size (rows of the embedding)")
    args = p.parse_args(argv)
    tg.manual_seed(args.seed)

    (train_texts, y_train), (val_texts, y_val), (test_texts, y_test) = load_texts(args)

    # lower-case, keep letters only
    train_texts = [clean_text(t) for t in train_texts]
    val_texts = [clean_text(t) for t in val_texts]
    test_texts = [clean_text(t) for t in test_texts]

    tokenizer = Tokenizer(num_words=args.max_features)
    tokenizer.fit_on_texts(train_texts)
    train_seqs = tokenizer.texts_to_sequences(train_texts)
    maxlen = min(args.maxlen, max(len(s) for s in train_seqs))
    x_train = pad_sequences(train_seqs, maxlen=maxlen)
    x_val = pad_sequences(tokenizer.texts_to_sequences(val_texts), maxlen=maxlen)
    x_test = pad_sequences(tokenizer.texts_to_sequences(test_texts), maxlen=maxlen)
    y_train, y_val, y_test = (y.astype(np.float32) for y in (y_train, y_val, y_test))
    print(f"{len(tokenizer.word_index)} distinct words, sequences padded to {maxlen}")

    model = nn.Sequential(
        nn.Embedding(args.max_features, embedding_dim),  # layers.Embedding(max_features, 128)
        Bidirectional(embedding_dim, 128),          # layers.Bidirectional(layers.LSTM(128))
        nn.Linear(2 * 128, 128), nn.ReLU(),         # layers.Dense(128, activation='relu')
        nn.Linear(128, 1), nn.Sigmoid(),            # layers.Dense(1, activation='sigmoid')
    )
    model.apply(keras_default_init)
    summary(model, input_shape=(maxlen,), dtype=tg.int64)

    model = Compiled(model,
                     optimizer=optim.Adam(model.parameters(), lr=args.lr, eps=1e-7),
                     loss=binary_crossentropy,
                     metrics=["accuracy"])

    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        validation_data=(x_val, y_val))

    test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=args.batch_size)
    print(f"Test accuracy: {test_acc:.4f}")
    return {"history": history.history, "test_loss": test_loss, "accuracy": test_acc}


if __name__ == "__main__":
    main()
