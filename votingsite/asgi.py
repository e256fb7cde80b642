"""ASGI entry point of the results role (daphne votingsite.asgi:application)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "votingsite.settings")
# Django must be set up before the consumers (and their models) are imported.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from results.guard import SocketGuard  # noqa: E402
from results.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Only pages of the site's own origins, compared by scheme, host and port (Channels'
        # AllowedHostsOriginValidator ignores the port); then, in one middleware
        # (results.guard), the limits per address and per socket, the session's user
        # (staff see hidden results) and the cookies (the voter) in scope as Channels'
        # AuthMiddlewareStack puts them, and an unknown path refused, not an error.
        "websocket": OriginValidator(
            SocketGuard(URLRouter(websocket_urlpatterns)),
            settings.PUBLIC_ORIGINS,
        ),
    }
)
