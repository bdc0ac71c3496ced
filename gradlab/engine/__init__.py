"""gradlab's NumPy engine: activations, losses, layers, networks, optimizers.

NumPy only: nothing here imports yaml, typer, rich or matplotlib (a test checks it).
Arrays are batch-first: ``Z = X @ W + b`` with ``X`` of shape (n_samples, n_in) and
``W`` of shape (n_in, n_out).
"""
