"""Run directories: one per computing command, complete or clearly marked.

Layout of ``<root>/<UTC yyyymmdd-HHMMSS>-<command>[-<name>]-<suffix>/``::

    config.yaml    the fully resolved parameters, enough to re-run it
    metrics.csv    one row per step/epoch, flushed row by row
    summary.json   status, final values, timings, versions, the command line
    *.png, *.csv   plots and the numbers they show

``summary.json`` is written when the run starts (status ``running``) and rewritten
atomically when it ends with one of ``completed``, ``diverged``, ``interrupted`` or
``failed``. The root is ``--out``, else ``$GRADLAB_RUNS``, else ``./runs``.

Reading back: :func:`resolve_run` finds the run a command was given (a path, or any
unique part of the name of a run or of a sweep's point); :func:`inspect_run` and :func:`list_runs` describe run
directories, damaged or half-written ones included (they are reported, never raised), and
:func:`list_newest_runs` the newest few of them, reading only those few in full;
:func:`read_config`, :func:`read_summary`, :func:`read_metrics` read the files, refusing a
damaged one with an InputError that names it (:func:`read_last_metrics_row` the last row of a
metrics file, from its ends; :func:`read_metrics_columns` a few of its columns as float arrays),
and :func:`compare_metrics` finds the first difference between two metrics files.

The package, one job a module (imports point down this list: each uses only those above it):

    layout.py        the run root, run names, the files a run holds, which directories are runs
    files.py         writing files: atomically replaced whole, a metrics CSV flushed row by row
    reading.py       resolving a run, reading its summary, config and metrics back
    directory.py     :class:`Run`, a run being written; :func:`mark_interrupted`; packing runs
    listing.py       :class:`RunInfo`, :func:`inspect_run`, :func:`list_runs`, :func:`list_newest_runs`
    metrics_diff.py  :func:`compare_metrics`, :func:`compare_metrics_counted`

Callers import from ``gradlab.runs``; the names below are its API.
"""

from gradlab.names import LISTING_STATUSES, RUN_COMMANDS, STATUSES
from gradlab.runs.directory import PackedRun, Run, mark_interrupted, pack_run, unpack_run, versions
from gradlab.runs.files import (MetricsLog, atomic_file, to_plain, write_failure, write_json, write_table,
                                write_yaml)
from gradlab.runs.layout import (CONFIG_FILE, DATA_FILE, FINAL_STATUSES, METRICS_FILE, MODEL_FILE, NAME_PATTERN,
                                 SUMMARY_FILE, SWEEP_FILE, check_name, check_root, enclosing_run, is_run_dir,
                                 is_sweep_dir, root_source, runs_root)
from gradlab.runs.listing import RunInfo, inspect_run, list_newest_runs, list_runs
from gradlab.runs.metrics_diff import TIMING_COLUMNS, MetricsDifference, compare_metrics, compare_metrics_counted
from gradlab.runs.reading import (MetricsColumns, read_config, read_json, read_last_metrics_row, read_metrics,
                                  read_metrics_columns, read_metrics_header, read_metrics_table, read_metrics_text,
                                  read_metrics_with_rows, read_summary, require_metrics_rows, resolve_run)

__all__ = [
    # the names of gradlab.names that the runs use, where the library uses them
    "LISTING_STATUSES", "RUN_COMMANDS", "STATUSES",
    # layout
    "CONFIG_FILE", "DATA_FILE", "FINAL_STATUSES", "METRICS_FILE", "MODEL_FILE", "NAME_PATTERN", "SUMMARY_FILE",
    "SWEEP_FILE", "check_name", "check_root",
    "enclosing_run", "is_run_dir", "is_sweep_dir", "root_source", "runs_root",
    # files
    "MetricsLog", "atomic_file", "to_plain", "write_failure", "write_json", "write_table", "write_yaml",
    # reading
    "MetricsColumns", "read_config", "read_json", "read_last_metrics_row", "read_metrics", "read_metrics_columns",
    "read_metrics_header", "read_metrics_table", "read_metrics_text", "read_metrics_with_rows", "read_summary",
    "require_metrics_rows", "resolve_run",
    # directory
    "PackedRun", "Run", "mark_interrupted", "pack_run", "unpack_run", "versions",
    # listing
    "RunInfo", "inspect_run", "list_newest_runs", "list_runs",
    # metrics_diff
    "TIMING_COLUMNS", "MetricsDifference", "compare_metrics", "compare_metrics_counted",
]
