"""WebSocket abuse on the real results role (daphne): an unrouted handshake is refused with
403 and no traceback."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.processes
@pytest.mark.parametrize("path", ["/ws/nothing/", "/ws/polls/%C3%A9/", "/polls/x/results/"])
def test_the_results_role_refuses_an_unrouted_handshake_with_403_and_no_traceback(
    path: str, results: Any
) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect
    from websockets.typing import Origin

    url = results.url.replace("http://", "ws://") + path
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin=Origin("http://127.0.0.1:8000"), open_timeout=10)
    assert refused.value.response.status_code == 403
    assert "No route found" not in results.output()
