"""``gradlab list``: what exists (activations, losses, optimizers, ...), each with its formula,
straight from the registries (:mod:`gradlab.catalog`)."""

from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from gradlab.catalog import KINDS
from gradlab.cli.common import examples, one_of, out, show_table, titled_table

HELP = (
    "List what exists: activations, losses, optimizers, datasets, ... with formulas and parameters.\n\n"
    + examples("gradlab list", "gradlab list activations", "gradlab list losses")
)


def register(app: typer.Typer) -> None:
    app.command("list", help=HELP)(list_components)


def list_components(
    kind: Annotated[Optional[str], typer.Argument(
        metavar="KIND", show_default=False,
        help=f"{one_of(KINDS)} \\[default: all there are].")] = None,
) -> None:
    from gradlab import catalog

    if kind is None:
        registries = catalog.available()
    else:
        chosen = catalog.resolve_kind(kind)
        registries = {chosen: catalog.load(chosen)}
    for i, (name, registry) in enumerate(registries.items()):
        if i:
            out.print()
        show_table(_table(name, catalog.describe(registry), catalog.REQUIRED))


def _parameter(key: str, default: Any, required: Any) -> str:
    return f"{key} (required)" if default is required else f"{key}={default!r}"


def _table(kind: str, entries, required) -> Table:
    """One row per component; a column for each extra formula any of them has (derivative, gradient)."""
    extra = list(dict.fromkeys(k for e in entries for k in e.formulas))
    table = titled_table(f"{kind} ({len(entries)})")
    table.add_column("name", style="bold", no_wrap=True)
    # one alias a line, never cut: a folded 'binary_cross_e' / 'ntropy' reads as two unknown names
    table.add_column("aliases", no_wrap=True)
    table.add_column("parameters", overflow="fold")
    for column in ("formula", *extra):
        table.add_column(column)
    for e in entries:
        params = ", ".join(_parameter(k, v, required) for k, v in e.parameters.items())
        # escaped: formulas hold brackets ("[y log p + ...]") that rich would take for markup
        cells = (e.name, "\n".join(e.aliases), params, e.formula, *(e.formulas.get(c, "") for c in extra))
        table.add_row(*map(escape, cells))
    return table
