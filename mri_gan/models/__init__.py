"""Model builders: generator, discriminator, classifier (functional Keras models)."""
