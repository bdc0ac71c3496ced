"""gradlab: a command-line lab for gradient descent and backpropagation.

Importing the package is cheap on purpose: no matplotlib, no sympy, no typer.
"""

__version__ = "0.1.0"
