"""Typer sub-apps, one per command group. They import only Typer at start-up; the domain
layer, SQLModel and Rich tables are imported inside the commands that use them."""
