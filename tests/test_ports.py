"""The five ports in examples/ports: each learns end to end on a tiny
configuration (loss falls, accuracy well above chance), each reads its real
dataset's file format with --data-dir (tiny fake files written here in the
exact formats), ResNet-18 matches a torchvision-equivalent torch model
loaded with the same weights (outputs and every gradient, float64), and
the Keras helpers keep Keras's semantics."""
import gzip
import importlib
import os
import struct
import sys

import numpy as np
import pytest
import torch

import tinygrad_dc as tg

PORTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                     "examples", "ports")
sys.path.insert(0, PORTS)


def port(name):
    return importlib.import_module(name)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """BLAS and Numba on one thread: these tiny batches gain nothing from
    threads, and on a shared, oversubscribed machine thread pools that wait
    for each other make them 10-50x slower."""
    import contextlib

    import numba
    try:  # installed with scikit-learn (a test extra); without it BLAS keeps its threads
        from threadpoolctl import threadpool_limits
        blas_limit = threadpool_limits(limits=1)
    except ImportError:
        blas_limit = contextlib.nullcontext()
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    with blas_limit:
        yield
    numba.set_num_threads(before)


# ------------------------------------------------------------ learning on the default data


def test_pytorch_tutorial_learns(capsys):
    result = port("pytorch_cifar10_tutorial").main(
        ["--limit", "600", "--epochs", "2", "--lr", "0.01", "--print-every", "50"])
    out = capsys.readouterr().out
    assert "Finished Training" in out and "Accuracy for class: 0" in out
    assert "GroundTruth:" in out and "Predicted:" in out
    losses = result["losses"]
    assert len(losses) == 6 and losses[-1] < 0.7 * losses[0]
    assert result["accuracy"] >= 0.4  # chance is 0.1


def test_keras_cnn_learns(capsys):
    result = port("keras_cifar10_cnn").main(["--limit", "480", "--epochs", "3"])
    out = capsys.readouterr().out
    assert "Total params: 122,570" in out  # the Keras tutorial's summary
    assert "val_accuracy" in out
    history = result["history"]
    assert len(history["val_loss"]) == 3
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert result["accuracy"] >= 0.4


def test_mnist_mlp_learns(capsys):
    result = port("mnist_mlp").main(["--limit", "640", "--epochs", "3"])
    out = capsys.readouterr().out
    assert "Epoch [3/3], Loss:" in out and "Accuracy:" in out
    assert result["losses"][-1] < 0.6 * result["losses"][0]
    assert result["accuracy"] >= 0.6


def test_resnet18_learns(capsys):
    """The standard stem only: --small costs 16 times the compute per image
    at 32x32; it is covered by the parity and file-format tests."""
    result = port("resnet18").main(["--limit", "128", "--epochs", "2", "--batch-size", "8",
                                    "--no-progress"])
    out = capsys.readouterr().out
    assert "Epoch 2/2: Train Loss:" in out and "Test Acc:" in out
    history = result["history"]
    assert history[-1]["train_loss"] < 0.8 * history[0]["train_loss"]
    assert result["accuracy"] >= 0.4  # chance is 0.1


def write_imdb(folder, n_train, n_test, seed):
    """An aclImdb-shaped folder of easy reviews: the label is which of two
    keyword lists the review draws from, among neutral filler words."""
    rng = np.random.default_rng(seed)
    filler = "the a film movie plot it was and this one of actors story scenes".split()
    keywords = {"pos": ["great", "wonderful", "loved", "superb"],
                "neg": ["awful", "boring", "hated", "dreadful"]}
    for split, n in (("train", n_train), ("test", n_test)):
        for label in ("pos", "neg"):
            (folder / split / label).mkdir(parents=True)
            for i in range(n // 2):
                words = list(rng.choice(filler, size=8)) + [rng.choice(keywords[label])]
                rng.shuffle(words)
                text = "<br />" + " ".join(words).capitalize() + "!"
                (folder / split / label / f"{i}_7.txt").write_text(text)


def test_bilstm_learns(tmp_path, capsys):
    """Learning is checked on an easy keyword task in IMDB's folder format:
    the default corpus (below) needs a few hundred steps to leave its
    plateau, too many for a unit test; its full run is in the ports README."""
    write_imdb(tmp_path, n_train=400, n_test=100, seed=0)
    result = port("bilstm_text_classifier").main(
        ["--data-dir", str(tmp_path), "--epochs", "2", "--batch-size", "16", "--lr", "0.01",
         "--max-features", "100"])
    out = capsys.readouterr().out
    assert "Bidirectional" in out and "Test accuracy:" in out
    history = result["history"]
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert result["accuracy"] >= 0.8  # chance is 0.5


def test_bilstm_default_corpus_runs(capsys):
    result = port("bilstm_text_classifier").main(
        ["--limit", "64", "--epochs", "1", "--max-features", "200"])
    assert np.isfinite(result["test_loss"]) and 0 <= result["accuracy"] <= 1
    assert "sequences padded to" in capsys.readouterr().out


def test_generated_corpus_is_fair():
    """No single word predicts the label; labels are balanced; the corpus is
    the same on every call."""
    from keras_like import clean_text
    from text_data import best_single_word_accuracy, generate_reviews
    texts, labels = generate_reviews(2000, seed=0)
    assert labels.mean() == 0.5
    assert best_single_word_accuracy([clean_text(t) for t in texts], labels) < 0.6
    again, _ = generate_reviews(2000, seed=0)
    assert again == texts


# ------------------------------------------------------------ real file formats


def idx_bytes(arr):
    return bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + \
        arr.astype(">u1").tobytes()


def write_mnist(folder, n_train=16, n_test=8):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_bytes(labels))


def write_cifar(folder, per_batch=4, n_test=8):
    """The CIFAR-10 binary version: records of 1 label byte + 3072 pixel bytes."""
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for name in names:
        n = n_test if name == "test_batch.bin" else per_batch
        records = np.concatenate([rng.integers(0, 10, (n, 1)),
                                  rng.integers(0, 256, (n, 3072))], axis=1)
        (folder / name).write_bytes(records.astype(np.uint8).tobytes())


@pytest.mark.parametrize("name, extra", [
    ("pytorch_cifar10_tutorial", ["--print-every", "2"]),
    ("keras_cifar10_cnn", []),
    ("resnet18", ["--no-progress"]),
    ("resnet18", ["--no-progress", "--small"]),
])
def test_cifar_ports_read_cifar10_binary(name, extra, tmp_path, capsys):
    write_cifar(tmp_path)
    result = port(name).main(["--data-dir", str(tmp_path), "--limit", "8", "--epochs", "1",
                              "--batch-size", "4"] + extra)
    out = capsys.readouterr().out
    assert 0 <= result["accuracy"] <= 1
    if name == "pytorch_cifar10_tutorial":
        # CIFAR-10's class names, and the 2 test images --limit 8 keeps
        assert "on the 2 test images" in out
        assert any(c in out for c in ("plane", "car", "bird", "cat", "deer", "dog", "frog",
                                      "horse", "ship", "truck"))


def test_mnist_mlp_reads_idx(tmp_path, capsys):
    write_mnist(tmp_path)
    result = port("mnist_mlp").main(["--data-dir", str(tmp_path), "--epochs", "1",
                                     "--batch-size", "8"])
    assert "Epoch [1/1]" in capsys.readouterr().out
    assert 0 <= result["accuracy"] <= 1


def test_bilstm_reads_imdb_folders(tmp_path):
    write_imdb(tmp_path / "aclImdb", n_train=8, n_test=4, seed=1)
    result = port("bilstm_text_classifier").main(
        ["--data-dir", str(tmp_path), "--epochs", "1", "--batch-size", "4",
         "--max-features", "50"])
    assert len(result["history"]["val_loss"]) == 1 and np.isfinite(result["test_loss"])


def test_missing_files_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="CIFAR-10"):
        port("keras_cifar10_cnn").main(["--data-dir", str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="IMDB"):
        port("bilstm_text_classifier").main(["--data-dir", str(tmp_path)])


# ------------------------------------------------------------ ResNet-18 against torch

def _conv3x3(cin, cout, stride=1):
    return torch.nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class TorchBasicBlock(torch.nn.Module):
    """torchvision.models.resnet.BasicBlock (torchvision is not installed)."""

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = torch.nn.BatchNorm2d(planes)
        self.relu = torch.nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = torch.nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class TorchResNet18(torch.nn.Module):
    """torchvision.models.resnet18's architecture and module names."""

    def __init__(self, num_classes=10, small=False):
        super().__init__()
        self.inplanes = 64
        if small:
            self.conv1 = _conv3x3(3, 64)
        else:
            self.conv1 = torch.nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(64)
        self.relu = torch.nn.ReLU(inplace=True)
        self.maxpool = torch.nn.Identity() if small else torch.nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, 1)
        self.layer2 = self._make_layer(128, 2)
        self.layer3 = self._make_layer(256, 2)
        self.layer4 = self._make_layer(512, 2)
        self.avgpool = torch.nn.AdaptiveAvgPool2d((1, 1))
        self.fc = torch.nn.Linear(512, num_classes)

    def _make_layer(self, planes, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = torch.nn.Sequential(
                torch.nn.Conv2d(self.inplanes, planes, 1, stride=stride, bias=False),
                torch.nn.BatchNorm2d(planes))
        blocks = [TorchBasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        blocks.append(TorchBasicBlock(planes, planes))
        return torch.nn.Sequential(*blocks)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _twin_models(small, seed=0):
    """The torch reference with randomised batch-norm statistics and affine
    parameters (so eval mode is not nearly the identity), and ours with its
    state dict loaded; both float64."""
    torch.manual_seed(seed)
    ref = TorchResNet18(small=small).double()
    with torch.no_grad():
        for m in ref.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.num_batches_tracked.fill_(3)
    resnet = port("resnet18")
    ours = resnet.resnet18(num_classes=10)
    if small:
        ours = resnet.small_input_stem(ours)
    ours = ours.double()
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    return ref, ours


def _close(ours, ref, what):
    ref = ref.detach().numpy()
    scale = max(np.abs(ref).max(), 1e-12)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-9, atol=1e-10 * scale, err_msg=what)


def test_resnet18_state_dict_keys_are_torchvisions():
    ref, ours = _twin_models(small=False)
    keys = list(ours.state_dict().keys())
    assert keys == list(ref.state_dict().keys())
    assert len(keys) == 122  # torchvision's resnet18 state dict: 62 parameters, 60 BN buffers
    for key in ("conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight",
                "layer2.0.downsample.0.weight", "layer2.0.downsample.1.num_batches_tracked",
                "layer4.1.bn2.bias", "fc.weight", "fc.bias"):
        assert key in keys
    assert "layer1.0.downsample.0.weight" not in keys  # layer1 keeps 64 channels, stride 1


@pytest.mark.parametrize("small, side", [(False, 32), (True, 16)])
def test_resnet18_matches_torch(small, side):
    ref, ours = _twin_models(small)
    x = np.random.default_rng(1).standard_normal((2, 3, side, side))

    # eval mode: running statistics
    ref.eval(), ours.eval()
    with torch.no_grad():
        expected = ref(torch.tensor(x))
    with tg.no_grad():
        _close(ours(tg.tensor(x)), expected, "eval-mode logits")

    # train mode: batch statistics, running-stat updates, every gradient
    ref.train(), ours.train()
    tx = torch.tensor(x, requires_grad=True)
    gx = tg.tensor(x, requires_grad=True)
    labels = np.array([3, 7])
    out_ref, out_ours = ref(tx), ours(gx)
    _close(out_ours, out_ref, "train-mode logits")
    torch.nn.functional.cross_entropy(out_ref, torch.tensor(labels)).backward()
    tg.nn.functional.cross_entropy(out_ours, tg.tensor(labels)).backward()
    _close(gx.grad, tx.grad, "input gradient")
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, ref_params[name].grad, f"gradient of {name}")
    ref_state = ref.state_dict()
    for name, buf in ours.named_buffers():
        _close(buf, ref_state[name], f"buffer {name} after a training step")


# ------------------------------------------------------------ Keras helpers


def test_keras_text_helpers():
    from keras_like import Tokenizer, clean_text, pad_sequences
    assert clean_text("It's GREAT!<br />10/10") == "it s great br"
    tok = Tokenizer(num_words=3)
    tok.fit_on_texts(["b a b", "c a b"])
    assert tok.word_index == {"b": 1, "a": 2, "c": 3}
    assert tok.texts_to_sequences(["c b a d"]) == [[1, 2]]  # only indices < num_words
    padded = pad_sequences([[1, 2, 3], [4]], maxlen=2)
    np.testing.assert_array_equal(padded, [[2, 3], [0, 4]])  # pre-padding, pre-truncation
    np.testing.assert_array_equal(pad_sequences([[1], [2, 3]]), [[0, 1], [2, 3]])
    np.testing.assert_array_equal(pad_sequences([[1, 2, 3]], maxlen=2, padding="post",
                                                 truncating="post"), [[1, 2]])


def test_keras_fit_validation_split_takes_the_last_samples():
    from keras_like import Compiled, sparse_categorical_crossentropy
    from tinygrad_dc import nn, optim
    tg.manual_seed(0)
    model = nn.Linear(2, 2)
    keras = Compiled(model, optim.SGD(model.parameters(), lr=0.0),
                     sparse_categorical_crossentropy(from_logits=True))
    x = np.random.default_rng(0).standard_normal((10, 2)).astype(np.float32)
    y = np.arange(10) % 2
    history = keras.fit(x, y, epochs=1, validation_split=0.2, verbose=0)
    # lr 0: the validation loss is the loss on the last 2 samples, untouched
    expected = keras.evaluate(x[8:], y[8:], verbose=0)[0]
    assert history.history["val_loss"][0] == pytest.approx(expected)


def test_keras_default_init():
    from keras_like import keras_default_init
    from tinygrad_dc import nn
    lstm_cls = port("bilstm_text_classifier").LSTM
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(30, 40), lstm_cls(8, 5, bidirectional=True))
    model.apply(keras_default_init)
    w = model[0].weight.numpy()
    assert np.abs(w).max() <= np.sqrt(6 / 70) and np.all(model[0].bias.numpy() == 0)
    lstm = model[1]
    for suffix in ("l0", "l0_reverse"):
        w_hh = getattr(lstm, f"weight_hh_{suffix}").numpy()
        np.testing.assert_allclose(w_hh.T @ w_hh, np.eye(5), atol=1e-5)  # orthogonal
        b_ih = getattr(lstm, f"bias_ih_{suffix}").numpy()
        np.testing.assert_array_equal(b_ih, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
        assert np.all(getattr(lstm, f"bias_hh_{suffix}").numpy() == 0)
