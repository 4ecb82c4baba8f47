"""Workbook commands of the CLI (filled in with the template workbook)."""


def add_commands(sub, parser_factory) -> None:
    return None
