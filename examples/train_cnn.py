"""Train a LeNet-style CNN (conv, ReLU, max-pool, linear) with SGD + momentum.

    python examples/train_cnn.py                        # embedded 8x8 digits
    python examples/train_cnn.py --dataset cifar10 --data-dir DIR
"""
from common import parser, run, tg

from tinygrad_dc import nn, optim


def lenet(in_channels, side, classes=10):
    """Two conv blocks then two linear layers. 'Same' padding keeps small
    inputs (8x8 digits) large enough for both pools; wider convolutions than
    the 1998 LeNet's 6 and 16 channels make plain SGD start learning in the
    first epoch instead of idling on a plateau."""
    flat = 32 * (side // 4) * (side // 4)
    return nn.Sequential(
        nn.Conv2d(in_channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25),
        nn.Linear(flat, 128), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(128, classes),
    )


def main(argv=None):
    args = parser(__doc__.splitlines()[0], epochs=40, batch_size=32, lr=0.05).parse_args(argv)
    tg.manual_seed(args.seed)
    channels, side = {"digits": (1, 8), "mnist": (1, 28), "fashion-mnist": (1, 28),
                      "cifar10": (3, 32)}[args.dataset]
    model = lenet(channels, side)
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    return run(args, model, optimizer, scheduler)


if __name__ == "__main__":
    main()
