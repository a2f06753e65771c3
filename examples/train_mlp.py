"""Train an MLP classifier (SGD with momentum and weight decay, cross-entropy).

    python examples/train_mlp.py                       # embedded 8x8 digits
    python examples/train_mlp.py --dataset mnist --data-dir DIR
    mpiexec -n 2 python examples/train_mlp.py --distributed   # data-parallel, 2 processes
"""
from common import parser, run, tg

from tinygrad_dc import nn, optim


def mlp(in_features, hidden=256, classes=10, dropout=0.2):
    # dropout: 1,437 training digits are few for 50k weights
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(in_features, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, hidden // 2), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden // 2, classes),
    )


def main(argv=None):
    args = parser(__doc__.splitlines()[0], epochs=50, batch_size=32, lr=0.05).parse_args(argv)
    tg.manual_seed(args.seed)
    in_features = {"digits": 64, "mnist": 784, "fashion-mnist": 784, "cifar10": 3072}[args.dataset]
    model = mlp(in_features)
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    # annealing the step size to zero settles the weights in the last epochs
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    return run(args, model, optimizer, scheduler)


if __name__ == "__main__":
    main()
