"""GAN wrapper, losses, augmentation and the kind factory."""
