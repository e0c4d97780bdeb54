"""`caregrid demousers`: one sign-in per role over the first seeded district, for demos; idempotent."""

from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from caregrid.accounts.actions import role_grant, user_create
from caregrid.accounts.models import Role, RoleAssignment, User
from caregrid.places.models import GridType, Place, PlaceKind
from caregrid.places.tree import ancestors, full_name

# Fixed so the demo can print them; they are only ever created by this command.
DEMO_PASSWORD = "caregrid-demo-2022"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    full_name: str
    role: str
    level: str  # which place the role is held over


DEMO_LOGINS = [
    DemoLogin("district", "区管理员（演示）", Role.DISTRICT_ADMIN, PlaceKind.DISTRICT),
    DemoLogin("subdistrict", "街道工作人员（演示）", Role.SUBDISTRICT_STAFF, PlaceKind.SUBDISTRICT),
    DemoLogin("community", "社区工作人员（演示）", Role.COMMUNITY_STAFF, PlaceKind.COMMUNITY),
    DemoLogin("grid", "网格员（演示）", Role.GRID_WORKER, PlaceKind.GRID),
    DemoLogin("hotline", "热线接线员（演示）", Role.HOTLINE_OPERATOR, PlaceKind.DISTRICT),
    DemoLogin("volunteers", "志愿者协调员（演示）", Role.VOLUNTEER_COORDINATOR, PlaceKind.DISTRICT),
    DemoLogin("auditor", "审计员（演示）", Role.AUDITOR, PlaceKind.DISTRICT),
]


def demo_scopes(district: Place) -> dict[str, Place]:
    """The district, its first subdistrict, that subdistrict's first community and that community's
    first comprehensive grid: the places the demo logins hold their roles over."""
    subdistrict = Place.objects.filter(parent=district, kind=PlaceKind.SUBDISTRICT).order_by("id").first()
    community = (
        subdistrict and Place.objects.filter(parent=subdistrict, kind=PlaceKind.COMMUNITY).order_by("id").first()
    )
    grid = (
        community
        and Place.objects.filter(parent=community, kind=PlaceKind.GRID, grid_type=GridType.COMPREHENSIVE)
        .order_by("id")
        .first()
    )
    if not (subdistrict and community and grid):
        raise CommandError(f"{district.name} 下没有街道、社区和网格，无法建立演示账号；请先运行 caregrid seed")
    return {
        PlaceKind.DISTRICT: district,
        PlaceKind.SUBDISTRICT: subdistrict,
        PlaceKind.COMMUNITY: community,
        PlaceKind.GRID: grid,
    }


@transaction.atomic
def demo_users_ensure(*, district: Place) -> list[tuple[DemoLogin, User, Place, bool]]:
    """Create the demo logins that are missing (and any missing role); returns (login, user, place, created)."""
    scopes = demo_scopes(district)
    result = []
    for login in DEMO_LOGINS:
        place = scopes[login.level]
        user = User.objects.filter(username=login.username).first()
        created = user is None
        if created:
            user = user_create(
                actor="demousers",
                username=login.username,
                password=DEMO_PASSWORD,
                full_name=login.full_name,
                role=login.role,
                place=place,
            )
        elif not RoleAssignment.objects.filter(user=user, role=login.role, place=place).exists():
            role_grant(actor="demousers", user=user, role=login.role, place=place)
        result.append((login, user, place, created))
    return result


class Command(BaseCommand):
    help = "Create one demo sign-in per role (district admin … auditor) and print them"

    def add_arguments(self, parser):
        parser.add_argument("--district", default="", help="district name (default: the first district)")

    def handle(self, *args, district, **options):
        qs = Place.objects.filter(kind=PlaceKind.DISTRICT).order_by("id")
        if district:
            qs = qs.filter(name=district)
        target = qs.first()
        if target is None:
            raise CommandError(
                "找不到区；请先运行 caregrid seed --residents 20000（no district yet: run caregrid seed）"
            )
        rows = demo_users_ensure(district=target)
        if options.get("verbosity", 1) < 1:
            return
        table = [("用户名", "密码", "角色", "范围")]
        for login, user, place, created in rows:
            password = DEMO_PASSWORD if created or user.check_password(DEMO_PASSWORD) else "（已修改）"
            table.append((login.username, password, Role(login.role).label, full_name(ancestors(place))))
        widths = [max(_width(row[i]) for row in table) for i in range(3)]
        for row in table:
            cells = [row[i] + " " * (widths[i] - _width(row[i])) for i in range(3)]
            self.stdout.write("  " + "  ".join([*cells, row[3]]))


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
