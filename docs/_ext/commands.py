"""Argument parsers of the package's management commands, for sphinx-argparse.

``reference/commands.md`` documents each command with an ``argparse`` directive naming
``:module: commands`` and ``:func: <command name>``; this module has one function per command
of ``django_imageops.management.commands``, returning a parser that holds the command's own
options (Django's common ones, ``--verbosity``, ``--settings`` ..., are left out: they are
Django's, documented there). ``tests/docs/test_reference.py`` checks every command is on the page.
"""

from __future__ import annotations

import functools

from django.core.management import get_commands, load_command_class
from django.core.management.base import CommandParser

APP = "django_imageops"

#: Names of the package's management commands.
COMMANDS = sorted(name for name, app in get_commands().items() if app == APP)


def command_parser(name: str) -> CommandParser:
    """The parser of ``manage.py <name>`` with only the command's own arguments."""
    command = load_command_class(APP, name)
    parser = CommandParser(prog=f"manage.py {name}", description=command.help)
    command.add_arguments(parser)
    return parser


for _name in COMMANDS:
    globals()[_name] = functools.partial(command_parser, _name)
