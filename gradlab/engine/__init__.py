"""The NumPy engine of gradlab: layers, networks, optimizers, schedules, initialisers, gradient checks.

Only NumPy (and SciPy where a module says so) is imported here: no yaml, typer, rich or
matplotlib. Import the submodules you need (``gradlab.engine.optimizers``, ...); this package
file stays empty so that importing it costs nothing.
"""
