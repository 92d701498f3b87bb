"""Training loop around keras fit: strategy, checkpoints, callbacks, run directories."""
