"""``manage.py imageops_serve [addrport]``: the example site with its embedded parts, to click.

In this process: the vendor sandbox and the embedded S3 server (for whatever the environment
does not point at real services), migrations, an admin user whose credentials are printed, the
sample photos as products (and in Wagtail's image library with the Wagtail settings, ``make
serve-wagtail``), and Django's development server without the autoreloader (a reloader
would serve from a child process that has none of the embedded servers). Next to it, background
worker processes (``db_worker``) run the jobs, so no page waits for a vendor.
"""

import os
import secrets

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.translation import gettext_lazy as _

from shop import embedded
from shop.demo import load_products, load_wagtail_images, sample_paths
from shop.models import Product


class Command(BaseCommand):
    """Serve the example project (see the module docstring)."""

    help = _("Run the example site with the embedded vendor sandbox and S3 server.")
    requires_system_checks = []  # runserver checks once the embedded servers run

    def add_arguments(self, parser):
        """``addrport`` as for ``runserver`` (default ``127.0.0.1:8000``)."""
        parser.add_argument(
            "addrport",
            nargs="?",
            default=os.environ.get("IMAGEOPS_SERVE_ADDRPORT", "127.0.0.1:8000"),
            help="Address and port of the development server (default 127.0.0.1:8000).",
        )
        parser.add_argument(
            "--username", default="admin", help="Admin user to create (default: admin)."
        )

    def handle(self, *args, **options):
        """Start everything, print the URLs and the admin credentials, then serve."""
        if embedded.reset_database():
            self.stdout.write("Embedded S3 is in memory: starting from a fresh database.")
        servers = embedded.start()
        try:
            call_command("migrate", interactive=False, verbosity=0)
            embedded.start_workers(servers)
            for line in servers.describe():
                self.stdout.write(line)
            username, password = self._admin_user(options["username"])
            if not Product.objects.exists():
                products = load_products(sample_paths())
                self.stdout.write(f"Loaded {len(products)} sample products.")
            wagtail = apps.is_installed("wagtail.images")
            if wagtail and (images := load_wagtail_images(sample_paths())):
                self.stdout.write(f"Loaded {len(images)} sample photos into Wagtail's images.")
            base = f"http://{self._host(options['addrport'])}"
            cms = f"Wagtail: {base}/cms/    same user and password\n" if wagtail else ""
            self.stdout.write(
                self.style.SUCCESS(
                    f"\nAdmin:   {base}/admin/   user {username!r}, password {password!r}\n"
                    f"{cms}"
                    f"API:     {base}/api/imageops/   (OpenAPI UI: {base}/api/docs/)\n"
                )
            )
            call_command("runserver", options["addrport"], use_reloader=False)
        finally:
            servers.stop()

    @staticmethod
    def _host(addrport: str) -> str:
        if ":" not in addrport:
            return f"127.0.0.1:{addrport}" if addrport.isdigit() else addrport
        host, port = addrport.rsplit(":", 1)
        return f"{host if host not in ('', '0', '0.0.0.0') else '127.0.0.1'}:{port}"

    def _admin_user(self, username: str) -> tuple[str, str]:
        """Create (or reset the password of) a superuser; the password comes from
        ``IMAGEOPS_ADMIN_PASSWORD`` or is generated."""
        password = os.environ.get("IMAGEOPS_ADMIN_PASSWORD") or secrets.token_urlsafe(9)
        user_model = get_user_model()
        user, _created = user_model.objects.get_or_create(
            **{user_model.USERNAME_FIELD: username},
            defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"},
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return username, password
