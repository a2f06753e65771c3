"""The few pieces of Keras the Keras ports lean on, written over tinygrad_dc:
Keras's default initialisers, `model.summary()`, `compile`/`fit`/`evaluate`
with Keras's semantics (validation_split takes the *last* fraction of the
arrays, before any shuffling; the epoch's loss is the mean over its samples;
the 'accuracy' metric is sparse-categorical for class scores and binary at
0.5 for one sigmoid output), and the text preprocessing of
`tf.keras.preprocessing` (Tokenizer, pad_sequences).

With these the ports read like their originals: the model is built layer for
layer, then `compile`, `fit`, `evaluate`.
"""
import math
import re
import time
from collections import Counter

import numpy as np

import tinygrad_dc as tg
import tinygrad_dc.nn.functional as F
from tinygrad_dc import nn

# ------------------------------------------------------------ initialisers


def keras_default_init(module):
    """Give `module` Keras's default initialisation (use with model.apply):
    Dense/Conv2D kernels glorot_uniform and zero biases, Embedding
    uniform(-0.05, 0.05), LSTM kernels glorot_uniform, recurrent kernels
    orthogonal, bias zero but 1 for the forget gate (unit_forget_bias).

    PyTorch's LSTM has two biases where Keras has one: the forget-gate 1
    goes into bias_ih and bias_hh stays 0, so their sum is Keras's bias."""
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.uniform_(module.weight, -0.05, 0.05)
    elif type(module).__name__ == "LSTM":
        hidden = module.hidden_size
        for name, param in module.named_parameters():
            if name.startswith("weight_ih"):
                # one draw for all four gates, as Keras's (input, 4*units) kernel
                nn.init.xavier_uniform_(param)
            elif name.startswith("weight_hh"):
                nn.init.orthogonal_(param)
            elif name.startswith("bias"):
                nn.init.zeros_(param)
                if name.startswith("bias_ih"):
                    with tg.no_grad():
                        param[hidden:2 * hidden] = 1.0  # gates i, f, g, o: f is the second


# ------------------------------------------------------------ summary


def count_params(module):
    return sum(p.numel() for p in module.parameters())


def summary(model, input_shape, dtype=None):
    """Print Keras's model.summary() table for an nn.Sequential: each layer's
    output shape (for one sample of `input_shape`, of `dtype`: float32 by
    default, int64 for token ids) and parameter count."""
    x = tg.zeros((1, *input_shape), dtype=dtype or tg.float32)
    print(f"Model: \"{type(model).__name__.lower()}\"")
    print(f"{'Layer (type)':<34}{'Output Shape':<24}{'Param #':>10}")
    print("=" * 68)
    with tg.no_grad():
        for name, layer in model.named_children():
            x = layer(x)
            shape = "(None, " + ", ".join(str(d) for d in x.shape[1:]) + ")"
            print(f"{name + ' (' + type(layer).__name__ + ')':<34}{shape:<24}"
                  f"{count_params(layer):>10,}")
    print("=" * 68)
    print(f"Total params: {count_params(model):,}")


# ------------------------------------------------------------ losses and metrics


def sparse_categorical_crossentropy(from_logits):
    """tf.keras.losses.SparseCategoricalCrossentropy(from_logits=...)."""
    if from_logits:
        return lambda outputs, labels: F.cross_entropy(outputs, labels)
    return lambda outputs, labels: F.nll_loss(tg.log(outputs.clamp(1e-7, 1 - 1e-7)), labels)


def binary_crossentropy(outputs, labels):
    """Keras's binary_crossentropy on probabilities: clipped to [1e-7, 1 - 1e-7]."""
    return F.binary_cross_entropy(outputs.reshape(labels.shape).clamp(1e-7, 1 - 1e-7), labels)


def accuracy(outputs, labels):
    """Keras's 'accuracy': argmax for class scores, threshold 0.5 for one
    probability per sample. Returns the number of correct samples."""
    if outputs.ndim == 1 or outputs.shape[-1] == 1:
        predicted = (outputs.reshape(labels.shape) > 0.5).float()
    else:
        predicted = outputs.argmax(dim=-1)
    return (predicted == labels).sum().item()


# ------------------------------------------------------------ compile / fit / evaluate


class Compiled:
    """What `model.compile(optimizer, loss, metrics=['accuracy'])` returns in
    spirit: the model with its optimizer and loss, ready to fit and evaluate
    NumPy arrays."""

    def __init__(self, model, optimizer, loss, metrics=("accuracy",)):
        if list(metrics) not in ([], ["accuracy"]):
            raise ValueError(f"only metrics=['accuracy'] is supported, got {metrics!r}")
        self.model, self.optimizer, self.loss = model, optimizer, loss
        self.metrics = list(metrics)

    def _batches(self, x, y, batch_size, order):
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            yield tg.tensor(x[idx]), tg.tensor(y[idx])

    def fit(self, x, y, batch_size=32, epochs=1, validation_split=0.0, validation_data=None,
            shuffle=True, verbose=2):
        """Train on arrays x, y; returns a History-like object whose .history
        holds per-epoch 'loss', 'accuracy', 'val_loss', 'val_accuracy'."""
        if validation_data is None and validation_split:
            # Keras: the last fraction of the samples, taken before shuffling
            split_at = int(math.ceil(len(x) * (1.0 - validation_split)))
            x, x_val = x[:split_at], x[split_at:]
            y, y_val = y[:split_at], y[split_at:]
            # Keras fits without validation when the split leaves no sample
            validation_data = (x_val, y_val) if len(x_val) else None
        history = {"loss": [], **({"accuracy": []} if self.metrics else {})}
        if validation_data is not None:
            history.update({"val_loss": [], **({"val_accuracy": []} if self.metrics else {})})
        steps = math.ceil(len(x) / batch_size)
        for epoch in range(epochs):
            start = time.perf_counter()
            self.model.train()
            order = tg.randperm(len(x)).numpy() if shuffle else np.arange(len(x))
            total_loss, correct = 0.0, 0
            for inputs, labels in self._batches(x, y, batch_size, order):
                self.optimizer.zero_grad()
                outputs = self.model(inputs)
                loss = self.loss(outputs, labels)
                loss.backward()
                self.optimizer.step()
                total_loss += loss.item() * len(labels)
                if self.metrics:
                    correct += accuracy(outputs.detach(), labels)
            logs = {"loss": total_loss / len(x)}
            if self.metrics:
                logs["accuracy"] = correct / len(x)
            if validation_data is not None:
                val = self.evaluate(*validation_data, batch_size=batch_size, verbose=0)
                logs["val_loss"] = val[0]
                if self.metrics:
                    logs["val_accuracy"] = val[1]
            for key, value in logs.items():
                history[key].append(value)
            if verbose:
                shown = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
                print(f"Epoch {epoch + 1}/{epochs}\n{steps}/{steps} - "
                      f"{time.perf_counter() - start:.0f}s - {shown}", flush=True)
        return History(history)

    @tg.no_grad()
    def evaluate(self, x, y, batch_size=32, verbose=1):
        """[loss, accuracy] (or the loss alone without metrics) over arrays x, y."""
        if len(x) == 0:
            raise ValueError("evaluate: got 0 samples to evaluate on")
        self.model.eval()
        total_loss, correct = 0.0, 0
        for inputs, labels in self._batches(x, y, batch_size, np.arange(len(x))):
            outputs = self.model(inputs)
            total_loss += self.loss(outputs, labels).item() * len(labels)
            if self.metrics:
                correct += accuracy(outputs, labels)
        result = [total_loss / len(x)] + ([correct / len(x)] if self.metrics else [])
        if verbose:
            steps = math.ceil(len(x) / batch_size)
            shown = " - ".join(f"{k}: {v:.4f}" for k, v in zip(["loss", "accuracy"], result))
            print(f"{steps}/{steps} - {shown}")
        return result if self.metrics else result[0]


class History:
    def __init__(self, history):
        self.history = history


# ------------------------------------------------------------ text preprocessing


class Tokenizer:
    """tf.keras.preprocessing.text.Tokenizer(num_words), word level: words
    are numbered 1, 2, ... by falling frequency (ties: first seen first), and
    texts_to_sequences keeps only words numbered below num_words (others are
    dropped, as Keras does without an oov_token). Index 0 is left for padding.

    Unlike Keras's default filters this splits on whitespace alone: the
    ports clean the text themselves before it gets here."""

    def __init__(self, num_words=None):
        self.num_words = num_words
        self.word_index = {}

    def fit_on_texts(self, texts):
        counts = Counter()
        for text in texts:
            counts.update(text.split())
        # Counter.most_common keeps first-seen order among equal counts
        self.word_index = {w: i for i, (w, _) in enumerate(counts.most_common(), start=1)}

    def texts_to_sequences(self, texts):
        keep = self.num_words
        return [[i for i in (self.word_index.get(w) for w in text.split())
                 if i is not None and (keep is None or i < keep)] for text in texts]


def pad_sequences(sequences, maxlen=None, padding="pre", truncating="pre", value=0):
    """tf.keras.preprocessing.sequence.pad_sequences: an int64 (N, maxlen)
    array; by default sequences are padded and cut at the front, so the
    last words are always kept and always sit at the end."""
    if maxlen is None:
        maxlen = max((len(s) for s in sequences), default=0)
    out = np.full((len(sequences), maxlen), value, dtype=np.int64)
    for row, seq in enumerate(sequences):
        seq = list(seq)
        seq = seq[max(len(seq) - maxlen, 0):] if truncating == "pre" else seq[:maxlen]
        if not seq:
            continue
        if padding == "pre":
            out[row, maxlen - len(seq):] = seq
        else:
            out[row, :len(seq)] = seq
    return out


def clean_text(text):
    """Lower-case and replace everything but the letters a-z with spaces."""
    return re.sub(r"[^a-z]+", " ", text.lower()).strip()
