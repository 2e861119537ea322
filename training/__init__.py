"""Training: corpus generation, pair datasets, the training loop and evaluation (not imported at run time)."""
