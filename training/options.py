"""Options `malsori train` and `malsori train-phonemes` share: one name, meaning and help text.

Each function takes the command's config with its defaults (a TrainConfig or PhonemeTrainConfig:
the same field names) and adds the options to that command's parser.
"""

from __future__ import annotations

import argparse


def channel_list(text: str) -> tuple[int, ...]:
    """"16,32,32,32" → (16, 32, 32, 32)."""
    return tuple(int(c) for c in text.split(","))


def add_run_options(p: argparse.ArgumentParser, d, *, batch_unit: str) -> None:
    """--seed, --batch-size (`batch_unit` per step), the run's length and pace, --freq-shift-bins."""
    p.add_argument("--seed", type=int, default=d.seed,
                   help="seed of all that is random in the run: weights, batches, augmentation (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=d.batch_size,
                   help=f"{batch_unit} per step (default: %(default)s)")
    p.add_argument("--steps-per-epoch", type=int, default=d.steps_per_epoch,
                   help="training steps between two validations (default: %(default)s)")
    p.add_argument("--max-epochs", type=int, default=d.max_epochs, help="epochs at most (default: %(default)s)")
    p.add_argument("--patience", type=int, default=d.patience,
                   help="epochs without a better validation score before stopping (default: %(default)s)")
    p.add_argument("--max-minutes", type=float, default=d.max_minutes,
                   help="wall-clock cap of the run (default: %(default)s)")
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate (default: %(default)s)")
    p.add_argument("--freq-shift-bins", type=int, default=d.freq_shift_bins,
                   help="random ± mel-band shift of each training image (default: %(default)s)")


ARCHITECTURE = ("channels", "embed_dim", "context_layers")


def add_architecture_options(p: argparse.ArgumentParser, d) -> None:
    """The encoder's shape; a fine-tune (--init) keeps its start's. Default None (not given), so
    that `architecture(args)` can refuse them with --init instead of ignoring them."""
    p.add_argument("--channels", type=channel_list, default=None,
                   help=f"conv channels, comma-separated, without --init (default: {','.join(map(str, d.channels))})")
    p.add_argument("--embed-dim", type=int, default=None,
                   help=f"per-frame embedding size, without --init (default: {d.embed_dim})")
    p.add_argument("--context-layers", type=int, default=None,
                   help=f"dilated temporal conv layers after the embedding, without --init (default: {d.context_layers})")


def architecture(args: argparse.Namespace, *, more: tuple[tuple[str, str], ...] = ()) -> dict:
    """The shape options given on the command line (the rest keep the config's defaults); refused
    with --init, whose network keeps its own shape and front end. `more`: a command's own
    (field, option) pairs that set up a new network too (default None: not given), refused alike."""
    from core.errors import UsageError

    options = {name: "--" + name.replace("_", "-") for name in ARCHITECTURE} | dict(more)
    given = {name: getattr(args, name) for name in options if getattr(args, name, None) is not None}
    if given and getattr(args, "init", None):
        option = options[next(iter(given))]
        raise UsageError(f"{option} shapes a new network; a fine-tune (--init) keeps its start's shape and front "
                         f"end: leave {option} out")
    return given


def add_machine_options(p: argparse.ArgumentParser, d) -> None:
    """Threads, worker processes and progress bars: how the run uses this machine, not what it learns."""
    p.add_argument("--threads", type=int, default=d.threads, help="torch CPU threads (default: %(default)s)")
    p.add_argument("--jobs", type=int, default=d.jobs, help="preprocessing worker processes (default: %(default)s)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars on stderr")
