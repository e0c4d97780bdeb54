"""`caregrid apitoken create USERNAME --name NAME | revoke ID | list USERNAME`: per-user API tokens."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.actions import api_token_create, api_token_revoke
from caregrid.accounts.models import ApiToken, User


class Command(BaseCommand):
    help = "Create, revoke or list API tokens. The key is printed once at creation; only its hash is stored."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token for a user and print its key once")
        create.add_argument("username")
        create.add_argument("--name", required=True, help="what the token is for, e.g. 12345对接")
        revoke = sub.add_parser("revoke", help="revoke a token by id")
        revoke.add_argument("id", type=int)
        listing = sub.add_parser("list", help="list a user's tokens")
        listing.add_argument("username")

    def handle(self, *args, action, **options):
        if action == "create":
            self._create(options["username"], options["name"])
        elif action == "revoke":
            self._revoke(options["id"])
        else:
            self._list(options["username"])

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("找不到用户：%(name)s") % {"name": username})
        return user

    def _create(self, username: str, name: str) -> None:
        user = self._user(username)
        try:
            token, key = api_token_create(actor="cli", user=user, name=name)
        except ValidationError as e:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in e.message_dict.items())) from None
        self.stderr.write(
            _("已为 %(user)s 创建令牌 #%(id)s“%(name)s”。密钥只显示这一次，请妥善保存：")
            % {"user": user.username, "id": token.pk, "name": token.name}
        )
        self.stdout.write(key)

    def _revoke(self, token_id: int) -> None:
        token = ApiToken.objects.filter(pk=token_id).first()
        if token is None:
            raise CommandError(_("找不到编号为 %(id)s 的令牌") % {"id": token_id})
        already = token.revoked_at is not None
        api_token_revoke(actor="cli", token=token)
        if already:
            self.stdout.write(_("令牌 #%(id)s 早已吊销") % {"id": token.pk})
        else:
            self.stdout.write(_("令牌 #%(id)s 已吊销") % {"id": token.pk})

    def _list(self, username: str) -> None:
        user = self._user(username)
        tokens = ApiToken.objects.filter(user=user).order_by("id")
        if not tokens:
            self.stdout.write(_("%(user)s 没有 API 令牌") % {"user": user.username})
            return
        self.stdout.write("\t".join([_("编号"), _("名称"), _("前缀"), _("创建时间"), _("最近使用"), _("状态")]))

        def when(value) -> str:
            return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"

        for t in tokens:
            status = _("已吊销") + " " + when(t.revoked_at) if t.revoked_at else _("有效")
            self.stdout.write(
                "\t".join([str(t.pk), t.name, f"cg_{t.prefix}…", when(t.created_at), when(t.last_used_at), status])
            )
