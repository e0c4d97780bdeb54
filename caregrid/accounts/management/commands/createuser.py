"""`caregrid createuser`: add a user with one role over one place."""

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from caregrid.accounts.actions import user_create
from caregrid.accounts.models import Role
from caregrid.places.models import Place
from caregrid.places.tree import find_by_names, split_names


class Command(BaseCommand):
    help = "Create a user with a role over a place, e.g. --role grid_worker --place 崇川区/和平桥街道/紫东社区/第一网格"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--place", required=True, help="path of names from the district, or a place id")
        parser.add_argument("--full-name", default="")
        parser.add_argument("--password", help="prompted for when omitted")

    def handle(self, *args, username, role, place, full_name, password, **options):
        target = None
        if place.isdigit():
            target = Place.objects.filter(pk=int(place)).first()
        else:
            names = split_names(place)
            target = find_by_names(names)
            if target is None and len(names) >= 2:
                # The last level may be a grid under its community.
                parent = find_by_names(names[:-1])
                target = parent and parent.children.filter(name=names[-1]).first()
        if target is None:
            raise CommandError(f"找不到地点：{place}")
        if password is None:
            password = getpass.getpass("密码: ")
        try:
            user = user_create(
                actor="cli", username=username, password=password, full_name=full_name, role=role, place=target
            )
        except ValidationError as e:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in e.message_dict.items())) from None
        self.stdout.write(f"created {user.username} ({Role(role).label} @ {target.name})")
