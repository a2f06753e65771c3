"""Port of a ResNet-18 image-classifier training script built on torchvision's ResNet-18.

The model is torchvision's `resnet18` (torchvision/models/resnet.py),
written the same way: conv3x3/conv1x1 helpers, BasicBlock, ResNet with
_make_layer, layers [2, 2, 2, 2], batch norm, stride-2 downsampling with a
1x1 conv + batch-norm projection shortcut, torchvision's initialisation
(kaiming_normal fan_out for convolutions, BN weight 1 and bias 0). Parameter
and buffer names are torchvision's, so `model.state_dict()` has the same
keys (conv1.weight, bn1.running_mean, layer1.0.conv1.weight,
layer2.0.downsample.0.weight, fc.bias, ...) and a torchvision state dict
loads as it is.

The training script around it, step for step: CrossEntropyLoss, SGD lr
0.01, batch 32 with shuffling, 10 epochs, each a train pass and an
evaluation pass with tqdm progress bars, printing loss and accuracy of both.
--small swaps the stem for CIFAR-sized 32x32 inputs, the usual way:
`model.conv1 = Conv2d(3, 64, 3, stride=1, padding=1, bias=False)` and
`model.maxpool = Identity()` (state dict keys unchanged).

    python examples/ports/resnet18.py                    # stand-in data
    python examples/ports/resnet18.py --small            # CIFAR-style stem
    python examples/ports/resnet18.py --data-dir DIR     # CIFAR-10

Inputs are normalised with ImageNet's mean and std, as torchvision's
pretrained-model transforms do. The original script resizes images to
224x224; here they stay at 32x32 (resizing 32x32 images up to 224 costs 49
times the compute and adds no information). With the standard stem the
feature maps go 32 -> 16 -> 8 (max-pool) -> 8, 4, 2, 1 through layer1..4;
--small keeps them at 32, 16, 8, 4.

Default data: the 8x8 handwritten digits embedded in tinygrad_dc (1,438
train / 359 test images, 10 classes), resized bilinearly to 32x32 and
copied into 3 channels: CIFAR-10's exact tensor shapes and range. A fair
stand-in: real handwriting with real variation between writers, learnt
from pixels; easier than CIFAR-10's photos (no colour, no clutter), so the
accuracies are higher and are not comparable with CIFAR-10's.

With --data-dir the real CIFAR-10 binary files are read
(data_batch_1..5.bin, test_batch.bin, as unpacked from cifar-10-binary.tar.gz).
"""

import numpy as np
from port_utils import cifar10_or_digits, parser

import tinygrad_dc as tg
from tinygrad_dc import nn, optim
from tinygrad_dc.utils.data import DataLoader, TensorDataset

try:
    from tqdm import tqdm
except ImportError:  # the bars are decoration: train without them
    def tqdm(iterable, **kwargs):
        return iterable


# ---------------------------------------------------------------------------
# torchvision/models/resnet.py (ResNet-18's part of it: BasicBlock, no Bottleneck)
# ---------------------------------------------------------------------------

def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3x3 convolution with padding"""
    return nn.Conv2d(
        in_planes,
        out_planes,
        kernel_size=3,
        stride=stride,
        padding=dilation,
        groups=groups,
        bias=False,
        dilation=dilation,
    )


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        # Both self.conv1 and self.downsample layers downsample the input when stride != 1
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            identity = self.downsample(x)

        out += identity
        out = self.relu(out)

        return out


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1,
                 width_per_group=64, replace_stride_with_dilation=None, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer

        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            # each element in the tuple indicates if we should replace
            # the 2x2 stride with a dilated convolution instead
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError(
                "replace_stride_with_dilation should be None "
                f"or a 3-element tuple, got {replace_stride_with_dilation}"
            )
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2,
                                       dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2,
                                       dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2,
                                       dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

        # Zero-initialize the last BN in each residual branch,
        # so that the residual branch starts with zeros, and each residual block behaves like
        # an identity. This improves the model by 0.2~0.3% according to
        # https://arxiv.org/abs/1706.02677
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                norm_layer(planes * block.expansion),
            )

        layers = []
        layers.append(
            block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                  previous_dilation, norm_layer)
        )
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(
                block(
                    self.inplanes,
                    planes,
                    groups=self.groups,
                    base_width=self.base_width,
                    dilation=self.dilation,
                    norm_layer=norm_layer,
                )
            )

        return nn.Sequential(*layers)

    def _forward_impl(self, x):
        # See note [TorchScript super()]
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)

        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)

        x = self.avgpool(x)
        x = tg.flatten(x, 1)
        x = self.fc(x)

        return x

    def forward(self, x):
        return self._forward_impl(x)


def resnet18(**kwargs):
    """ResNet-18 from `Deep Residual Learning for Image Recognition
    <https://arxiv.org/abs/1512.03385>`__ (no pretrained weights: nothing is downloaded)."""
    return ResNet(BasicBlock, [2, 2, 2, 2], **kwargs)


def small_input_stem(model):
    """The usual CIFAR adaptation: a 3x3 stride-1 stem and no max-pool, so
    32x32 inputs keep their resolution into layer1."""
    model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model


# ---------------------------------------------------------------------------
# the training script
# ---------------------------------------------------------------------------

def normalize(images, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)):
    """transforms.Normalize with ImageNet's statistics, on a whole array."""
    mean = np.array(mean, dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array(std, dtype=np.float32).reshape(1, 3, 1, 1)
    return tg.tensor((images - mean) / std)


def train(model, loader, criterion, optimizer, progress=True):
    model.train()
    running_loss = 0.0
    correct = 0
    total = 0
    for inputs, labels in tqdm(loader, desc="Training", disable=not progress, leave=False):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()

        running_loss += loss.item() * inputs.size(0)
        _, predicted = outputs.max(1)
        total += labels.size(0)
        correct += predicted.eq(labels).sum().item()
    return running_loss / total, 100.0 * correct / total


def evaluate(model, loader, criterion, progress=True):
    model.eval()
    running_loss = 0.0
    correct = 0
    total = 0
    with tg.no_grad():
        for inputs, labels in tqdm(loader, desc="Evaluating", disable=not progress, leave=False):
            outputs = model(inputs)
            loss = criterion(outputs, labels)

            running_loss += loss.item() * inputs.size(0)
            _, predicted = outputs.max(1)
            total += labels.size(0)
            correct += predicted.eq(labels).sum().item()
    return running_loss / total, 100.0 * correct / total


def main(argv=None):
    p = parser(__doc__.splitlines()[0], epochs=10, batch_size=32, lr=0.01,
               data_help="folder with the CIFAR-10 binary files (default: embedded digits)")
    p.add_argument("--small", action="store_true",
                   help="3x3 stride-1 stem and no max-pool, for 32x32 inputs")
    p.add_argument("--no-progress", action="store_true", help="hide the tqdm bars")
    args = p.parse_args(argv)
    tg.manual_seed(args.seed)
    progress = not args.no_progress

    (x_train, y_train), (x_test, y_test), classes = cifar10_or_digits(args.data_dir, args.limit)
    train_dataset = TensorDataset(normalize(x_train), tg.tensor(y_train))
    test_dataset = TensorDataset(normalize(x_test), tg.tensor(y_test))

    train_loader = DataLoader(train_dataset, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_dataset, batch_size=args.batch_size, shuffle=False)

    model = resnet18(num_classes=len(classes))
    if args.small:
        model = small_input_stem(model)

    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=args.lr)

    history = []
    num_epochs = args.epochs
    for epoch in range(num_epochs):
        train_loss, train_acc = train(model, train_loader, criterion, optimizer, progress)
        test_loss, test_acc = evaluate(model, test_loader, criterion, progress)
        print(f"Epoch {epoch + 1}/{num_epochs}: "
              f"Train Loss: {train_loss:.4f}, Train Acc: {train_acc:.2f}% | "
              f"Test Loss: {test_loss:.4f}, Test Acc: {test_acc:.2f}%", flush=True)
        history.append({"train_loss": train_loss, "train_acc": train_acc,
                        "test_loss": test_loss, "test_acc": test_acc})
    return {"history": history, "accuracy": history[-1]["test_acc"] / 100 if history else None}


if __name__ == "__main__":
    main()
