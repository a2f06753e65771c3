"""Port of PyTorch's "Training a Classifier" tutorial (cifar10_tutorial.py).

The original, step for step: a LeNet-like ConvNet (conv 3->6 k5, pool,
conv 6->16 k5, pool, fc 400->120->84->10), inputs normalised with mean 0.5
and std 0.5 per channel, CrossEntropyLoss, SGD lr 0.001 momentum 0.9,
batch 4 with shuffling, 2 epochs, the running loss printed every 2,000
mini-batches, the model saved and loaded back, then the test accuracy
overall and per class.

    python examples/ports/pytorch_cifar10_tutorial.py             # stand-in data
    python examples/ports/pytorch_cifar10_tutorial.py --data-dir DIR  # CIFAR-10

Default data: the 8x8 handwritten digits embedded in tinygrad_dc (1,438
train / 359 test images, 10 classes), resized bilinearly to 32x32 and
copied into 3 channels, so every tensor has exactly CIFAR-10's shape and
range and the network is unchanged. It is a fair stand-in: real
handwriting from 10 classes with real variation between writers, learnt
from pixels by the same convolutions; it is easier than CIFAR-10's photos
(no colour, no background clutter), so accuracies are higher and are not
comparable with CIFAR-10's. The set is 35 times smaller than CIFAR-10's
50,000 images, so the loss is printed every 50 mini-batches instead of
every 2,000 (--print-every) to give a similar number of lines per epoch.

With --data-dir the real CIFAR-10 binary files are read
(data_batch_1..5.bin, test_batch.bin, as unpacked from cifar-10-binary.tar.gz).
"""
import os
import tempfile

import numpy as np
from port_utils import cifar10_or_digits, parser

import tinygrad_dc as tg
import tinygrad_dc.nn.functional as F
from tinygrad_dc import nn, optim
from tinygrad_dc.utils.data import DataLoader, TensorDataset


def transform(images):
    """transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5),
    (0.5, 0.5, 0.5))]) on a whole array: the loaders already scale to [0, 1]."""
    mean = np.array((0.5, 0.5, 0.5), dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array((0.5, 0.5, 0.5), dtype=np.float32).reshape(1, 3, 1, 1)
    return tg.tensor((images - mean) / std)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = tg.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def main(argv=None):
    p = parser(__doc__.splitlines()[0], epochs=2, batch_size=4, lr=0.001,
               data_help="folder with the CIFAR-10 binary files (default: embedded digits)")
    p.add_argument("--print-every", type=int, default=None,
                   help="mini-batches between loss lines (default: 2000 on CIFAR-10, "
                        "50 on the stand-in data)")
    p.add_argument("--save", default=None,
                   help="where to save the trained weights (default: a temporary folder)")
    args = p.parse_args(argv)
    tg.manual_seed(args.seed)
    print_every = args.print_every or (2000 if args.data_dir else 50)

    (x_train, y_train), (x_test, y_test), classes = cifar10_or_digits(args.data_dir, args.limit)

    batch_size = args.batch_size

    trainset = TensorDataset(transform(x_train), tg.tensor(y_train))
    # the original's num_workers=2 is left out: tinygrad_dc loads in the main process
    trainloader = DataLoader(trainset, batch_size=batch_size, shuffle=True)

    testset = TensorDataset(transform(x_test), tg.tensor(y_test))
    testloader = DataLoader(testset, batch_size=batch_size, shuffle=False)

    net = Net()

    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)

    losses = []
    for epoch in range(args.epochs):  # loop over the dataset multiple times

        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            # get the inputs; data is a list of [inputs, labels]
            inputs, labels = data

            # zero the parameter gradients
            optimizer.zero_grad()

            # forward + backward + optimize
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()

            # print statistics
            running_loss += loss.item()
            if i % print_every == print_every - 1:
                print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / print_every:.3f}",
                      flush=True)
                losses.append(running_loss / print_every)
                running_loss = 0.0

    print("Finished Training")

    with tempfile.TemporaryDirectory() as workdir:
        PATH = args.save or os.path.join(workdir, "cifar_net.tgdc")
        tg.save(net.state_dict(), PATH)

        dataiter = iter(testloader)
        images, labels = next(dataiter)
        print("GroundTruth: ", " ".join(f"{classes[labels[j]]:5s}" for j in range(len(labels))))

        net = Net()
        net.load_state_dict(tg.load(PATH))

    outputs = net(images)
    _, predicted = tg.max(outputs, 1)
    print("Predicted: ", " ".join(f"{classes[predicted[j]]:5s}" for j in range(len(labels))))

    correct = 0
    total = 0
    # since we're not training, we don't need to calculate the gradients for our outputs
    with tg.no_grad():
        for data in testloader:
            images, labels = data
            # calculate outputs by running images through the network
            outputs = net(images)
            # the class with the highest energy is what we choose as prediction
            _, predicted = tg.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()

    print(f"Accuracy of the network on the {total} test images: {100 * correct // total} %")

    # prepare to count predictions for each class
    correct_pred = {classname: 0 for classname in classes}
    total_pred = {classname: 0 for classname in classes}

    # again no gradients needed
    with tg.no_grad():
        for data in testloader:
            images, labels = data
            outputs = net(images)
            _, predictions = tg.max(outputs, 1)
            # collect the correct predictions for each class
            for label, prediction in zip(labels, predictions):
                if label == prediction:
                    correct_pred[classes[label]] += 1
                total_pred[classes[label]] += 1

    # print accuracy for each class
    for classname, correct_count in correct_pred.items():
        if total_pred[classname] == 0:  # a --limit subset can miss a class
            continue
        accuracy = 100 * float(correct_count) / total_pred[classname]
        print(f"Accuracy for class: {classname:5s} is {accuracy:.1f} %")

    return {"losses": losses, "accuracy": correct / total}


if __name__ == "__main__":
    main()
