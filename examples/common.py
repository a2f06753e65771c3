"""What the training examples share: command-line options, data, the
train/evaluate loop, checkpoints (--save/--resume), the optional plot, and
data-parallel training over MPI processes (--distributed):

    mpiexec -n 2 python examples/train_mlp.py --distributed
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_dc as tg  # noqa: E402
import tinygrad_dc.nn.functional as F  # noqa: E402
from tinygrad_dc.datasets import load_dataset  # noqa: E402
from tinygrad_dc.utils.data import DataLoader, TensorDataset  # noqa: E402


def parser(description, epochs, batch_size, lr):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset", choices=["digits", "mnist", "fashion-mnist", "cifar10"],
                   default="digits")
    p.add_argument("--data-dir", default=None,
                   help="folder with the MNIST IDX / CIFAR-10 binary files (not needed for digits)")
    p.add_argument("--limit", type=int, default=None,
                   help="use only the first N training and N//4 test samples (quick runs)")
    p.add_argument("--save", default=None, help="write a checkpoint here after every epoch")
    p.add_argument("--resume", default=None, help="continue from this checkpoint")
    p.add_argument("--plot", default=None, help="write a PNG of the loss/accuracy curves")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel training over the processes of an MPI job "
                        "(mpiexec -n 2 python ... --distributed); --batch-size is per process")
    p.add_argument("--backend", choices=["mpi", "nccl"], default=None,
                   help="with --distributed: the communication backend (default: nccl for "
                        "--device cuda, mpi otherwise)")
    return p


def check_device(device):
    if device == "cuda" and not tg.cuda.is_available():
        sys.exit("error: --device cuda was asked for, but CUDA is not available on this "
                 "machine (no GPU, or CuPy missing: pip install \"tinygrad_dc[cuda]\"). "
                 "Use --device cpu.")


def load_data(args):
    """Train and test TensorDatasets of float32 images and int64 labels."""
    if args.dataset != "digits" and args.data_dir is None:
        sys.exit(f"error: --dataset {args.dataset} needs --data-dir pointing at its files")
    parts, mean, std = [], None, None
    for train in (True, False):
        x, y = load_dataset(args.dataset, data_dir=args.data_dir, train=train)
        if args.limit:
            n = args.limit if train else max(args.limit // 4, 1)
            x, y = x[:n], y[:n]
        if mean is None:
            # per-channel standardisation with the training set's statistics
            # (transforms.Normalize in a torchvision script)
            mean = x.mean(axis=(0, 2, 3), keepdims=True)
            std = x.std(axis=(0, 2, 3), keepdims=True) + 1e-8
        x = ((x - mean) / std).astype("float32")
        parts.append(TensorDataset(tg.tensor(x, device=args.device),
                                   tg.tensor(y, device=args.device)))
    return parts


def progress(iterable, total, desc, disabled):
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, disable=disabled,
                dynamic_ncols=True)


def train_epoch(model, loader, optimizer, desc, quiet):
    model.train()
    total, count = 0.0, 0
    for x, y in progress(loader, len(loader), desc, quiet):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
    return total / max(count, 1)


@tg.no_grad()
def evaluate(model, loader):
    model.eval()
    total, correct, count = 0.0, 0, 0
    for x, y in loader:
        logits = model(x)
        total += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(dim=1) == y).sum().item()
        count += len(y)
    return total / max(count, 1), correct / max(count, 1)


def init_distributed(args):
    """With --distributed, join the MPI job this process belongs to and
    return its rank; without, 0 (the process is the only one)."""
    if not args.distributed:
        return 0
    import tinygrad_dc.distributed as dist
    dist.init_process_group(args.backend or ("nccl" if args.device == "cuda" else "mpi"))
    return dist.get_rank()


def average_over_processes(value, device):
    """The mean of a float over all processes (each trains on an equal share)."""
    import tinygrad_dc.distributed as dist
    t = tg.tensor([value], dtype=tg.float64, device=device)  # NCCL reduces GPU tensors only
    dist.all_reduce(t, op="avg")
    return t.item()


def run(args, model, optimizer, scheduler=None):
    """Train for args.epochs, printing one line per epoch; returns the history.

    With --distributed every process trains the same model on its own shard
    of the training set (DistributedSampler) and DistributedDataParallel
    averages the gradients; only rank 0 prints, shows a progress bar, saves
    and plots. Checkpoints hold the plain model's state, so they resume
    either way."""
    check_device(args.device)
    rank = init_distributed(args)
    main_process = rank == 0
    say = print if main_process else (lambda *a, **k: None)
    train_set, test_set = load_data(args)
    model.to(args.device)
    history, start_epoch = [], 0
    if args.resume:
        ckpt = tg.load(args.resume)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None and ckpt.get("scheduler") is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
        start_epoch, history = ckpt["epoch"], list(ckpt["history"])
        say(f"resumed from {args.resume} at epoch {start_epoch}")
    trained, sampler = model, None
    if args.distributed:
        from tinygrad_dc.nn.parallel import DistributedDataParallel
        from tinygrad_dc.utils.data.distributed import DistributedSampler
        trained = DistributedDataParallel(model)  # every process starts from rank 0's weights
        sampler = DistributedSampler(train_set, shuffle=True, seed=args.seed)
    test_loader = DataLoader(test_set, batch_size=512)
    t0 = time.perf_counter()
    for epoch in range(start_epoch, args.epochs):
        # re-seeding per epoch makes shuffling and dropout depend on the epoch
        # alone, so a resumed run continues exactly as an uninterrupted one
        # (each process its own dropout masks)
        tg.manual_seed(args.seed * 1000 + epoch + 1_000_003 * rank)
        if sampler is not None:
            sampler.set_epoch(epoch)  # a new shuffle, the same on every process
            loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler)
        else:
            loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
        train_loss = train_epoch(trained, loader, optimizer, f"epoch {epoch + 1}",
                                 args.no_progress or not main_process)
        if sampler is not None:
            train_loss = average_over_processes(train_loss, args.device)
        if scheduler is not None:
            scheduler.step()
        # every process evaluates the whole (small) test set with the same
        # weights, so the figures rank 0 prints are exact
        test_loss, acc = evaluate(model, test_loader)
        history.append({"epoch": epoch + 1, "train_loss": train_loss, "test_loss": test_loss,
                        "accuracy": acc})
        say(f"epoch {epoch + 1:3d}/{args.epochs}  train loss {train_loss:.4f}  "
            f"test loss {test_loss:.4f}  accuracy {100 * acc:.2f}%  "
            f"({time.perf_counter() - t0:.1f}s)", flush=True)
        if args.save and main_process:
            tg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "scheduler": scheduler.state_dict() if scheduler is not None else None,
                     "epoch": epoch + 1, "history": history}, args.save)
    if args.plot and main_process:
        plot(history, args.plot)
    if args.distributed:
        import tinygrad_dc.distributed as dist
        dist.destroy_process_group()
    return history


def plot(history, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("error: --plot needs matplotlib: pip install \"tinygrad_dc[examples]\"")
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, [h["train_loss"] for h in history], label="train")
    ax1.plot(epochs, [h["test_loss"] for h in history], label="test")
    ax1.set_xlabel("epoch"), ax1.set_ylabel("cross-entropy"), ax1.legend()
    ax2.plot(epochs, [100 * h["accuracy"] for h in history])
    ax2.set_xlabel("epoch"), ax2.set_ylabel("test accuracy (%)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")
