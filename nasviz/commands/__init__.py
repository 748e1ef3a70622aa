"""CLI sub-commands, one module per area; :mod:`nasviz.cli` registers them."""
