"""The WebSockets of a live session: the audience's (/ws/s/<code>/) and the presenter's
(/ws/present/<code>/). Each gets the session's state on connect and on every change, and
the current poll's results while it may see them (the presenter always; the audience once
the presenter reveals them). The presenter also gets the number of audience devices.

Audience devices are counted per results process and written to Redis once a second
(one round trip per process), where presenters read the sum.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import time
from collections.abc import Iterator
from typing import Any

import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import translation
from django.utils.translation import trans_real

from polls import live_sessions, quiz, ratelimits, selectors, snapshots, voters
from polls.live import events
from polls.models import LiveSession, Poll

from . import fanout
from .protocol import LiveConsumer

logger = logging.getLogger(__name__)

CLOSE_UNKNOWN_SESSION = 4404
CLOSE_NOT_PRESENTER = 4403
CLOSE_TOO_MANY = 4429  # too many wrong join codes from here (polls.ratelimits.join_wait)
COUNT_SECONDS = 1.0
_PROCESS = f"{os.getpid()}-{secrets.token_hex(4)}"  # this process's field in the counts


def page_language(scope: dict[str, Any]) -> str:
    """The language the page behind this socket speaks, chosen as LocaleMiddleware chose
    it for the page: the switcher's cookie, else Accept-Language, else the default."""
    cookie = (scope.get("cookies") or {}).get(settings.LANGUAGE_COOKIE_NAME)
    headers = dict(scope.get("headers") or [])
    accepted = headers.get(b"accept-language", b"").decode("latin-1")
    wanted = [cookie] if cookie else []
    wanted += [code for code, _q in trans_real.parse_accept_lang_header(accepted) if code != "*"]
    for code in wanted:
        with contextlib.suppress(LookupError):
            return translation.get_supported_language_variant(code)
    return str(settings.LANGUAGE_CODE)


def audience_key(session_id: int) -> str:
    return f"session:{session_id}:audience"


@database_sync_to_async
def _session(code: str, user: Any, address: str, join_pass: str | None) -> LiveSession | None:
    """A visitor's lookup (counted, refused past the budgets: JoinRefused), but a
    presenter's (staff, the Presenters group): theirs are not guesses."""
    if getattr(user, "is_authenticated", False) and (
        user.is_staff or user.has_perm(live_sessions.PERMISSION)
    ):
        return live_sessions.by_code(code)
    return live_sessions.join(code, address=address, join_pass=join_pass)


@database_sync_to_async
def _by_code(digits: str) -> LiveSession | None:
    return live_sessions.by_code(digits)


class _Codes:
    """Join codes this process looked up, for phones holding the code's join pass (the
    page gives it: they reached the session before), so a room joining at once costs one
    lookup per code, not one per phone on the one database thread:

    - the sockets that connect while a code's lookup is under way share it;
    - a kept code stays kept while this process follows the session and the state it
      holds from the session's events (_States) still says this code, live: an end or a
      new code drops it the moment its event arrives. Not followed, it is kept SECONDS.

    A visitor without the pass is looked up (and counted) every time."""

    SECONDS = 1.0
    MOST = 256

    def __init__(self) -> None:
        self.held: dict[str, tuple[float, LiveSession]] = {}
        self.looking: dict[str, asyncio.Future[LiveSession | None]] = {}

    def get(self, code: str) -> LiveSession | None:
        digits = live_sessions.digits_of(code)
        held = self.held.get(digits)
        if held is None:
            return None
        kept_at, session = held
        state = _states.get(session.pk, fanout.subscription(events.session_group(session.pk)))
        if state is not None:
            current = state["code"] == digits and state["state"] == LiveSession.State.LIVE
        else:
            current = time.monotonic() - kept_at <= self.SECONDS
        if not current:
            self.forget(digits)
            return None
        return session

    async def look_up(self, code: str) -> LiveSession | None:
        """The session of a code a pass holder connects with (the caller checked the
        pass): kept, or one lookup shared by every socket asking meanwhile."""
        session = self.get(code)
        if session is not None:
            return session
        digits = live_sessions.digits_of(code)
        looking = self.looking.get(digits)
        if looking is None:
            looking = self.looking[digits] = asyncio.ensure_future(self._look_up(digits))
        return await asyncio.shield(looking)

    async def _look_up(self, digits: str) -> LiveSession | None:
        try:
            session = await _by_code(digits)
        finally:
            del self.looking[digits]
        if session is not None:
            if len(self.held) >= self.MOST and digits not in self.held:
                del self.held[next(iter(self.held))]
            self.held[digits] = (time.monotonic(), session)
        return session

    def forget(self, code: str) -> None:
        self.held.pop(live_sessions.digits_of(code), None)


_codes = _Codes()


class _States:
    """The newest session state this process has, per session, from its events and its
    reads, with the subscription it came through: while that subscription lasts no newer
    state can have passed this process by, so a socket that connects is sent it without
    a read (a room joining at once costs no read per phone). The sockets that need a read
    while one is under way through the same subscription share it (`read`)."""

    MOST = 256

    def __init__(self) -> None:
        self.held: dict[int, tuple[object, dict[str, Any]]] = {}
        self.reading: dict[int, tuple[object, asyncio.Future[dict[str, Any] | None]]] = {}

    def keep(self, session_id: int, state: dict[str, Any]) -> None:
        through = fanout.subscription(events.session_group(session_id))
        held = self.held.get(session_id)
        if through is None or (held and held[0] is through and held[1]["seq"] >= state["seq"]):
            return
        if len(self.held) >= self.MOST and session_id not in self.held:
            del self.held[next(iter(self.held))]
        self.held[session_id] = (through, state)

    def get(self, session_id: int, through: object | None) -> dict[str, Any] | None:
        held = self.held.get(session_id)
        return held[1] if held is not None and through is not None and held[0] is through else None

    async def read(self, session_id: int) -> dict[str, Any] | None:
        """The state, read for a socket already subscribed to the session's events. A
        read begun through this same subscription is shared: it began after the
        subscription was made, and any event since has been kept here, so the newer of
        the two is current."""
        through = fanout.subscription(events.session_group(session_id))
        under_way = self.reading.get(session_id)
        if through is None or under_way is None or under_way[0] is not through:
            under_way = (through, asyncio.ensure_future(self._read(session_id)))
            if through is not None:
                self.reading[session_id] = under_way
        state = await asyncio.shield(under_way[1])
        if state is None:
            return None
        self.keep(session_id, state)
        return self.get(session_id, through) or state

    async def _read(self, session_id: int) -> dict[str, Any] | None:
        try:
            return await _state(session_id)
        finally:
            future = self.reading.get(session_id, (None, None))[1]
            if future is asyncio.current_task():
                del self.reading[session_id]


_states = _States()


@database_sync_to_async
def _state(session_id: int) -> dict[str, Any] | None:
    session = LiveSession.objects.filter(pk=session_id).select_related("current_poll").first()
    return None if session is None else selectors.session_state(session=session)


@database_sync_to_async
def _results(slug: str) -> dict[str, Any] | None:
    poll = Poll.objects.filter(slug=slug).first()
    return None if poll is None else snapshots.results(poll=poll)


@database_sync_to_async
def _may_present(user: Any, session: LiveSession) -> bool:
    return live_sessions.may_present(user, session)


class _Audience:
    """This process's audience devices per session, reported to Redis once a second."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.task: asyncio.Task[None] | None = None

    def join(self, session_id: int, step: int) -> None:
        self.counts[session_id] = self.counts.get(session_id, 0) + step
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._report())

    async def _report(self) -> None:
        client = aioredis.Redis.from_url(settings.REDIS_URL)
        try:
            while self.counts:
                pipe = client.pipeline(transaction=False)
                for session_id, count in list(self.counts.items()):
                    key = audience_key(session_id)
                    if count > 0:
                        pipe.hset(key, _PROCESS, count)
                        pipe.expire(key, int(COUNT_SECONDS * 5))
                    else:
                        pipe.hdel(key, _PROCESS)
                        del self.counts[session_id]
                with contextlib.suppress(Exception):  # counts are best effort
                    await pipe.execute()
                await asyncio.sleep(COUNT_SECONDS)
        finally:
            await client.aclose()


_audience = _Audience()


class _Follows:
    """The sockets of this process whose poll to follow changed with their session's
    state (a reveal, a step back, a hide), moved together once the hub has handed the
    whole room that state (results.fanout). Each socket starting to follow on its own (a
    task, a lock, a watch, a wait for a shared read, its send, in turn) put the first
    results ~1 s behind the state at 5,000 phones, and the room's tasks and locks cost
    memory (issue 42). Here one task works them off in batches: per poll one unwatch and
    one watch for them all, one read of its results serialised once, then a send each.
    One task, so a socket's changes are made in order and the latest wins.

    The read comes after the watch: an update published meanwhile reaches the sockets
    through the poll's group, and the read's older results are not sent after it (seq).
    """

    MOST_SECONDS = 0.5  # a batch waits for the hand-out under way, at most this long

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pending: dict[SessionConsumer, None] = {}  # in order, each socket once
        self.moved: asyncio.Future[None] | None = None  # when the pending batch is done
        self.task: asyncio.Task[None] | None = None

    def want(self, socket: SessionConsumer) -> asyncio.Future[None]:
        """Move `socket` to its `wanted_poll`; the future is done once it is moved."""
        loop = asyncio.get_running_loop()
        if self.loop is not loop:  # nothing of another loop's (a test runs one loop each)
            self.loop, self.pending, self.moved, self.task = loop, {}, None, None
        self.pending[socket] = None
        if self.moved is None:
            self.moved = loop.create_future()
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._work())
        return self.moved

    async def _work(self) -> None:
        while self.pending:
            await self._settle()
            batch, self.pending = list(self.pending), {}
            moved, self.moved = self.moved, None
            try:
                await self._move(batch)
            finally:
                if moved is not None:
                    moved.set_result(None)

    async def _settle(self) -> None:
        """Until no socket joined the batch for a turn of the loop: the states go out to
        the whole room first, then the results."""
        loop = asyncio.get_running_loop()
        began, seen = loop.time(), -1
        while len(self.pending) != seen and loop.time() - began < self.MOST_SECONDS:
            seen = len(self.pending)
            await asyncio.sleep(0)

    async def _move(self, batch: list[SessionConsumer]) -> None:
        leaving: dict[str, list[SessionConsumer]] = {}
        joining: dict[str, list[SessionConsumer]] = {}
        for socket in batch:
            wanted = socket.wanted_poll if socket.session_id is not None else None
            if wanted == socket.watching_poll:
                continue
            if socket.watching_poll is not None:
                leaving.setdefault(socket.watching_poll, []).append(socket)
            socket.watching_poll, socket.results_seq = wanted, -1
            if wanted is not None:
                joining.setdefault(wanted, []).append(socket)
        for slug, sockets in leaving.items():
            with _logged():
                await self._leave(slug, sockets)
        for slug, sockets in joining.items():
            with _logged():
                await self._join(slug, sockets)

    @staticmethod
    async def _leave(slug: str, sockets: list[SessionConsumer]) -> None:
        poll_id = await _poll_id(slug)
        if poll_id is not None:
            viewers = [socket.handle_live_event for socket in sockets]
            await fanout.unwatch_all(events.group_name(poll_id), viewers)

    @staticmethod
    async def _join(slug: str, sockets: list[SessionConsumer]) -> None:
        poll_id = await _poll_id(slug)
        if poll_id is None:
            return
        viewers = [socket.handle_live_event for socket in sockets]
        await fanout.watch_all(events.group_name(poll_id), viewers)
        snapshot = await _results(slug)
        if snapshot is None:
            return
        text = json.dumps(snapshot)
        for n, socket in enumerate(sockets, 1):
            if n % fanout.SENDS_PER_TURN == 0:
                await asyncio.sleep(0)  # as the hub does (results.fanout)
            if socket.session_id is None or snapshot["seq"] <= socket.results_seq:
                continue  # gone meanwhile, or an update newer than the read got there first
            socket.results_seq = snapshot["seq"]
            try:
                await socket.send(text_data=text)
            except fanout.GONE as error:  # the phone left meanwhile: churn
                fanout.count_gone("its poll's results", error)


@contextlib.contextmanager
def _logged() -> Iterator[None]:
    try:
        yield
    except Exception:  # a store briefly away: these sockets follow no poll until the next change
        logger.warning("session sockets could not follow their poll", exc_info=True)


_follows = _Follows()


class _Parts:
    """The newest audience parts (per language) this process was sent for each session,
    so a socket that (re)connects or syncs on that state gets its part too: picked from
    what the process holds, rather than each phone fetching it."""

    MOST = 256  # sessions remembered; the oldest is forgotten first

    def __init__(self) -> None:
        self.held: dict[int, tuple[int, dict[str, dict[str, str]], dict[str, Any] | None]] = {}

    def keep(
        self,
        session_id: int,
        seq: int,
        parts: dict[str, dict[str, str]],
        quiz: dict[str, Any] | None = None,
    ) -> None:
        if seq <= self.held.get(session_id, (-1, {}, None))[0]:
            return
        self.held.pop(session_id, None)
        self.held[session_id] = (seq, parts, quiz)
        if len(self.held) > self.MOST:
            del self.held[next(iter(self.held))]

    def of(self, session_id: int, seq: int) -> dict[str, dict[str, str]]:
        held = self.held.get(session_id)
        return held[1] if held is not None and held[0] == seq else {}

    def quiz_of(self, session_id: int, seq: int) -> dict[str, Any] | None:
        held = self.held.get(session_id)
        return held[2] if held is not None and held[0] == seq else None


_parts = _Parts()


class SessionConsumer(LiveConsumer):
    """A live session's socket: `presenter=True` for the presenter's page."""

    presenter = False
    session_id: int | None = None
    seq = -1
    results_seq = -1
    watching_poll: str | None = None  # the slug whose results this socket follows
    wanted_poll: str | None = None  # the slug it should follow, as of the latest state
    counter: asyncio.Task[None] | None = None
    language = "en"  # the page's (page_language)
    voter_tag: str | None = None  # the audience's voter (polls.voters.voter_tag)

    async def connect(self) -> None:
        code = self.scope["url_route"]["kwargs"]["code"]
        join_pass = (self.scope.get("cookies") or {}).get(ratelimits.JOIN_PASS_COOKIE)
        user, address = self.scope.get("user"), ratelimits.scope_address(self.scope)
        try:
            if self.presenter or not ratelimits.holds_join_pass(
                join_pass, live_sessions.digits_of(code)
            ):
                session = await _session(code, user, address, join_pass)
            else:  # it reached the session before: never refused, nothing counted
                session = await _codes.look_up(code)
        except live_sessions.JoinRefused:
            await self.accept()
            await self.close(code=CLOSE_TOO_MANY)
            return
        await self.accept()
        if session is None:
            await self.close(code=CLOSE_UNKNOWN_SESSION)
            return
        if self.presenter and not await _may_present(self.scope.get("user"), session):
            await self.close(code=CLOSE_NOT_PRESENTER)
            return
        self.session_id = session.pk
        self.language = page_language(self.scope)
        self.voter_tag = None if self.presenter else self._voter_tag()
        group = events.session_group(session.pk)
        await fanout.watch(group, self.handle_live_event)
        if self.presenter:
            self.counter = asyncio.get_running_loop().create_task(self._send_audience())
        else:
            _audience.join(session.pk, +1)
        # Held through the subscription this socket now watches (its events keep it
        # current), else one read shared with the sockets connecting meanwhile.
        state = _states.get(session.pk, fanout.subscription(group)) or await _states.read(
            session.pk
        )
        if (
            state is None
            or state["state"] != LiveSession.State.LIVE
            or (not self.presenter and state["code"] != live_sessions.digits_of(code))
        ):
            # Ended, or given a new code, since the code was looked up (or kept): as an
            # unknown code, so the page says "ended" (disconnect cleans up).
            _codes.forget(code)
            await self.close(code=CLOSE_UNKNOWN_SESSION)
            return
        if state["seq"] > self.seq:  # else an event got here first with a newer state
            await self._show(state, self._with_part(state))

    async def disconnect(self, code: int) -> None:
        if self.session_id is None:
            return
        await fanout.unwatch(events.session_group(self.session_id), self.handle_live_event)
        self.wanted_poll = None
        if self.watching_poll is not None:  # out of its poll's hub (a pending move: dropped)
            await _follows.want(self)
        if self.counter is not None:
            self.counter.cancel()
        elif not self.presenter:
            _audience.join(self.session_id, -1)
        self.session_id = None

    def may_sync(self) -> bool:
        return self.session_id is not None

    async def answer_sync(self) -> None:
        """The whole state again (a page back from sleep, or after a control's error)."""
        state = None if self.session_id is None else await _states.read(self.session_id)
        if state is not None:
            self.seq = -1
            await self._show(state, self._with_part(state))

    async def session_state(self, event: dict[str, Any]) -> None:
        if event["seq"] <= self.seq:
            return
        # One event object reaches every socket of the process: parsed once, sent as is.
        if "_state" not in event:
            event["_state"] = json.loads(event["text"])
            if self.session_id is not None:
                _states.keep(self.session_id, event["_state"])
                _parts.keep(
                    self.session_id, event["seq"], event.get("parts") or {}, event.get("quiz")
                )
        await self._show(event["_state"], self._own(self._text_of(event), event.get("quiz")))

    def _voter_tag(self) -> str | None:
        """Which voter this socket is: the page's user, else its voter cookie (as
        VoterMiddleware reads it), as the quiz reveal keys its results."""
        user = self.scope.get("user")
        user_id = user.pk if user is not None and user.is_authenticated else None
        cookie = (self.scope.get("cookies") or {}).get(settings.VOTER_COOKIE_NAME)
        key = voters.voter_key_from_cookie(signed_cookie=cookie, user_id=user_id)
        return None if key is None else voters.voter_tag(key)

    def _own(self, text: str, reveal: dict[str, Any] | None) -> str:
        """The text with this phone's own quiz result added (its points, right or wrong,
        its score and place), picked from the reveal the event carries: no request, and
        only this small piece is serialised per socket."""
        if reveal is None or self.presenter:
            return text
        words = reveal["words"].get(self.language) or reveal["words"]["en"]
        row = reveal["results"].get(self.voter_tag) if self.voter_tag else None
        mine = json.dumps(quiz.own_result(words, row))
        return f'{text[:-1]}, "quiz_mine": {mine}}}'

    def _with_part(self, state: dict[str, Any]) -> str | None:
        """A state read on connect or sync, with the part this process holds for it."""
        if self.presenter or self.session_id is None:
            return None
        part = _parts.of(self.session_id, state["seq"]).get(self.language)
        if part is None:
            return None
        return self._own(
            json.dumps({**state, **part}), _parts.quiz_of(self.session_id, state["seq"])
        )

    def _text_of(self, event: dict[str, Any]) -> str:
        """This socket's part of the event, picked here from what the event carries (no
        request, no read per socket): the audience gets the new question's ballot, or its
        results once shown, in its page's language. Serialised once per language per
        process, then sent as is."""
        part = None if self.presenter else event.get("parts", {}).get(self.language)
        if part is None:
            return str(event["text"])
        texts = event.setdefault("_texts", {})
        if self.language not in texts:
            texts[self.language] = json.dumps({**event["_state"], **part})
        return str(texts[self.language])

    async def results_update(self, event: dict[str, Any]) -> None:
        if event["seq"] <= self.results_seq:
            return
        self.results_seq = event["seq"]
        await self.send(text_data=event["text"])

    async def poll_changed(self, event: dict[str, Any]) -> None:
        await self.results_update(event)

    async def qna_update(self, event: dict[str, Any]) -> None:
        """A Q&A board's snapshot (polls.live.events.qna_update), the same for every
        socket, with this voter's own marks added when the event carries them (its
        actions were just stored: from this phone or another); older than the one this
        socket was sent: dropped."""
        if event["seq"] <= getattr(self, "qna_seq", -1):
            return
        self.qna_seq = event["seq"]
        text = str(event["text"])
        own = (event.get("mine") or {}).get(self.voter_tag) if self.voter_tag else None
        if own is not None:
            text = f'{text[:-1]}, "mine": {json.dumps(own)}}}'
        await self.send(text_data=text)

    async def _show(self, state: dict[str, Any], text: str | None = None) -> None:
        """Send the session's state, then follow its current poll's results if allowed
        (with the rest of the room that the state moves too: _Follows)."""
        self.seq = state["seq"]
        await self.send(text_data=text or json.dumps(state))
        poll = state.get("poll")
        may_see = poll is not None and (self.presenter or state["reveal"])
        self.wanted_poll = poll["slug"] if may_see and poll else None
        if self.wanted_poll != self.watching_poll:
            _follows.want(self)

    async def _send_audience(self) -> None:
        client = aioredis.Redis.from_url(settings.REDIS_URL)
        last: int | None = None
        try:
            while self.session_id is not None:
                with contextlib.suppress(Exception):
                    counts = await client.hgetall(audience_key(self.session_id))
                    devices = sum(int(n) for n in counts.values())
                    if devices != last:
                        last = devices
                        await self.send(
                            text_data=json.dumps({"type": "audience", "devices": devices})
                        )
                await asyncio.sleep(COUNT_SECONDS)
        finally:
            await client.aclose()


class PresenterConsumer(SessionConsumer):
    presenter = True


_poll_ids: dict[str, int] = {}
_looking: dict[str, asyncio.Task[int | None]] = {}  # lookups under way, one per slug


@database_sync_to_async
def _read_poll_id(slug: str) -> int | None:
    found: int | None = Poll.objects.filter(slug=slug).values_list("pk", flat=True).first()
    return found


async def _poll_id(slug: str) -> int | None:
    """The poll's id, read once per process: the sockets that start following a poll at
    once (a reveal to a room) share one lookup, not one each on the one database thread
    (at 1,000 phones that queue held the results up for seconds)."""
    if slug in _poll_ids:
        return _poll_ids[slug]
    task = _looking.get(slug)
    if task is None:
        task = _looking[slug] = asyncio.ensure_future(_read_poll_id(slug))
        task.add_done_callback(lambda _done: _looking.pop(slug, None))
    found = await asyncio.shield(task)
    if found is not None:
        _poll_ids[slug] = found
    return found
