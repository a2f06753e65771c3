"""The benchmark models, written once for both frameworks.

tinygrad_dc speaks PyTorch's dialect, so every builder takes the framework
module `lib` (`torch` or `tinygrad_dc`) and uses only `lib.nn`,
`lib.nn.functional` and tensor methods. The two models therefore have the
same layers in the same order and the same state_dict keys, which is what
lets the runner copy torch's initial weights into ours.

Nothing here imports torch or tinygrad_dc at module level: a child process
that measures one framework's memory must not load the other.
"""
import math

import numpy as np


# ------------------------------------------------------------------ attention
_causal_masks = {}  # (framework, L, device) -> bool mask, True above the diagonal


def _causal_mask(lib, length, device):
    key = (lib.__name__, length, str(device))
    mask = _causal_masks.get(key)
    if mask is None:
        mask = lib.tensor(np.triu(np.ones((length, length), dtype=bool), k=1), device=device)
        _causal_masks[key] = mask
    return mask


def composed_causal_attention(lib, q, k, v):
    """softmax(q k^T / sqrt(d) + causal mask) v from basic ops (matmul,
    masked_fill, softmax): what runs until a library has a fused
    scaled_dot_product_attention, and what FLOP counting uses (every matmul
    is visible to torch's FlopCounterMode)."""
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    scores = scores.masked_fill(_causal_mask(lib, q.shape[-2], q.device), float("-inf"))
    return scores.softmax(-1) @ v


def causal_attention(lib, q, k, v, composed=False):
    """Causal attention on (..., L, d) tensors: the library's
    F.scaled_dot_product_attention when it has one, else the composition."""
    functional = lib.nn.functional
    if not composed and hasattr(functional, "scaled_dot_product_attention"):
        return functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    return composed_causal_attention(lib, q, k, v)


def uses_fused_attention(lib):
    return hasattr(lib.nn.functional, "scaled_dot_product_attention")


# ------------------------------------------------------------------ models
def mlp(lib, sizes=(784, 512, 512, 10)):
    """W1: Linear-ReLU stack."""
    nn = lib.nn
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def lenet(lib):
    """W2: the PyTorch CIFAR-10 tutorial network (input 3x32x32)."""
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def keras_cnn(lib):
    """W3: the TensorFlow/Keras CIFAR-10 tutorial CNN, 'valid' padding
    (32 -> 30 -> 15 -> 13 -> 6 -> 4)."""
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * 4 * 4, 64), nn.ReLU(),
        nn.Linear(64, 10))


def transformer_block(lib, d_model=256, n_heads=4, d_ff=1024):
    """W5: pre-LayerNorm block, x + attn(ln1(x)), then x + mlp(ln2(x)),
    causal self-attention with a fused qkv projection, GELU MLP."""
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.n_heads = n_heads
            self.composed_attention = False  # True while torch counts FLOPs
            self.ln1 = nn.LayerNorm(d_model)
            self.qkv = nn.Linear(d_model, 3 * d_model)
            self.proj = nn.Linear(d_model, d_model)
            self.ln2 = nn.LayerNorm(d_model)
            self.fc1 = nn.Linear(d_model, d_ff)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(d_ff, d_model)

        def forward(self, x):
            batch, length, width = x.shape
            head = width // self.n_heads
            qkv = self.qkv(self.ln1(x)).reshape(batch, length, 3, self.n_heads, head)
            qkv = qkv.permute(2, 0, 3, 1, 4)  # (3, B, H, L, head)
            attended = causal_attention(lib, qkv[0], qkv[1], qkv[2],
                                        composed=self.composed_attention)
            x = x + self.proj(attended.transpose(1, 2).reshape(batch, length, width))
            return x + self.fc2(self.act(self.fc1(self.ln2(x))))

    return Block()


def resnet18(lib, width=64, num_classes=10):
    """W7: ResNet-18 for 32x32 inputs (the usual CIFAR variant): 3x3 stem
    with stride 1 and no max-pool, BasicBlocks [2, 2, 2, 2] at widths
    w, 2w, 4w, 8w, global average pool, linear head."""
    nn = lib.nn
    F = lib.nn.functional

    class BasicBlock(nn.Module):
        def __init__(self, in_planes, planes, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            if stride != 1 or in_planes != planes:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                    nn.BatchNorm2d(planes))
            else:
                self.shortcut = nn.Identity()

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, width, 3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            stages, in_planes = [], width
            for i, planes in enumerate((width, 2 * width, 4 * width, 8 * width)):
                first_stride = 1 if i == 0 else 2
                stages.append(nn.Sequential(BasicBlock(in_planes, planes, first_stride),
                                            BasicBlock(planes, planes, 1)))
                in_planes = planes
            self.layer1, self.layer2, self.layer3, self.layer4 = stages
            self.linear = nn.Linear(8 * width, num_classes)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
            out = F.adaptive_avg_pool2d(out, 1).flatten(1)
            return self.linear(out)

    return ResNet18()
