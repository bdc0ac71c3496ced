"""Names the CLI's help texts list, kept where importing them costs nothing.

``gradlab --help`` imports every command module, and must not import NumPy or pydantic
(start-up stays fast), yet the help of ``descend --method``, ``runs --status``, ``runs --command``
and ``sweep --executor`` lists what the library accepts. The modules that own these names take
them from here rather than the help copying them: :data:`gradlab.descent.methods.METHODS` registers
against :data:`DESCENT_METHODS` (its registry refuses a name not listed), and
:mod:`gradlab.runs` and :mod:`gradlab.executors` use the others as they are. The registries
whose module is light already (``gradlab list``'s kinds, :data:`gradlab.catalog.KINDS`) need no
entry here.
"""

from __future__ import annotations

#: the update rules of ``gradlab descend``, in the order :data:`gradlab.descent.methods.METHODS` registers them
DESCENT_METHODS = ("gd", "momentum", "nesterov", "adam", "newton")

#: the ``status`` of a run's summary.json
STATUSES = ("running", "completed", "diverged", "interrupted", "failed")
#: the statuses ``gradlab runs`` shows: :data:`STATUSES`, and two for directories that cannot be trusted
LISTING_STATUSES = (*STATUSES, "incomplete", "damaged")

#: the commands that write run directories: gradlab's own, and the benchmark scripts' ``bench``
#: (``gradlab runs --command`` takes these; :meth:`gradlab.runs.Run.create` refuses any other)
RUN_COMMANDS = ("train", "descend", "sweep", "plot", "compare", "landscape", "gradcheck", "bench")

#: where ``gradlab sweep`` runs its points (``--executor``), each with what it is
EXECUTORS = {"process": "this machine", "dask": "a Dask cluster; pip install 'gradlab[distributed]'"}

#: ``gradlab gradcheck``'s finite-difference step by default (:mod:`gradlab.checking` compares a smaller one with it)
GRADCHECK_EPS = 1e-6
