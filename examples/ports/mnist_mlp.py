"""Port of the classic PyTorch MNIST MLP script.

The original, step for step: ToTensor scaling to [0, 1], an MLP
784 -> 128 -> ReLU -> 10, CrossEntropyLoss, Adam lr 0.001, batch 64 with
shuffling, 10 epochs printing the loss of each epoch's last mini-batch,
then the test accuracy.

    python examples/ports/mnist_mlp.py                  # stand-in data
    python examples/ports/mnist_mlp.py --data-dir DIR   # MNIST IDX files

Default data: the 8x8 handwritten digits embedded in tinygrad_dc (1,438
train / 359 test images), resized bilinearly to 28x28, so the input is
MNIST's 1x28x28 in [0, 1] and the model keeps its 784 inputs. A fair
stand-in: the same task (handwritten digits 0-9 from raw pixels) on real
handwriting, with a test set the model never sees; it is smaller than
MNIST (60,000 / 10,000), so each epoch has 23 steps instead of 938 and the
accuracy is a little lower than MNIST's ~97-98%.

With --data-dir the real MNIST IDX files are read (train-images-idx3-ubyte,
train-labels-idx1-ubyte, t10k-*; plain or .gz; also in MNIST/raw).
"""
from port_utils import mnist_or_digits, parser

import tinygrad_dc as tg
from tinygrad_dc import nn, optim
from tinygrad_dc.utils.data import DataLoader, TensorDataset


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, 128)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = x.view(-1, 28 * 28)
        x = self.relu(self.fc1(x))
        x = self.fc2(x)
        return x


def main(argv=None):
    args = parser(__doc__.splitlines()[0], epochs=10, batch_size=64, lr=0.001,
                  data_help="folder with the MNIST IDX files (default: embedded digits)"
                  ).parse_args(argv)
    tg.manual_seed(args.seed)

    # transform = transforms.ToTensor(): the loaders already give float32 in [0, 1]
    (x_train, y_train), (x_test, y_test) = mnist_or_digits(args.data_dir, args.limit)
    train_dataset = TensorDataset(tg.tensor(x_train), tg.tensor(y_train))
    test_dataset = TensorDataset(tg.tensor(x_test), tg.tensor(y_test))

    train_loader = DataLoader(dataset=train_dataset, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=args.batch_size, shuffle=False)

    model = MLP()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)

    losses = []
    num_epochs = args.epochs
    for epoch in range(num_epochs):
        for images, labels in train_loader:
            optimizer.zero_grad()
            outputs = model(images)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
        print(f"Epoch [{epoch + 1}/{num_epochs}], Loss: {loss.item():.4f}", flush=True)
        losses.append(loss.item())

    correct = 0
    total = 0
    with tg.no_grad():
        for images, labels in test_loader:
            outputs = model(images)
            _, predicted = tg.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()

    print(f"Accuracy: {100 * correct / total:.2f}%")
    return {"losses": losses, "accuracy": correct / total}


if __name__ == "__main__":
    main()
