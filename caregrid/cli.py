"""The `caregrid` command: serve, worker, migrate, seed, import, export, createuser, bench, and any
other management command by name."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caregrid.settings")
    argv = list(sys.argv if argv is None else argv)
    from django.core.management import execute_from_command_line

    if len(argv) < 2:
        argv.append("help")
    execute_from_command_line(["caregrid", *argv[1:]])


if __name__ == "__main__":
    main()
