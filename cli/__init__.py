"""The `mrigan-tf` command line: argument parsing only; all work is done in `mri_gan`."""
