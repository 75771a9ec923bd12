"""Webhooks: each story a pass created or changed, POSTed to the receivers the feeds file names.

    webhooks:
      - url: https://example.org/newsbeam-hook
        secret_file: /run/secrets/newsbeam-hook     # or secret_env: VARIABLE

Each delivery is one JSON object, `{"id", "event", "story"}`: `event` is `story.new` or
`story.updated`, `story` the record the sinks write (schemas/story.schema.json); or, for an
earlier version an edit in place replaced, `{"id", "event": "story.revised", "revision"}`), and `id` the
same for every attempt at one version of one story, so a receiver that sees it twice (delivery
is at least once) can tell. It is signed as `X-Newsbeam-Signature: t=<unix time>,v1=<hex
HMAC-SHA256 of "<t>.<body>" with the shared secret>` (`verify` checks one), with the id in
`X-Newsbeam-Delivery`.

A receiver that fails (a 5xx, a refused or dropped connection) is tried again within the pass
after a short backoff, then the delivery is kept as a dead letter (stage `webhook`) and sent
again at each pass (not before the receiver's Retry-After) until it arrives; `prune` forgets
one older than the story window. A receiver is reached through the
fetcher's address policy: never an address on this machine or a private network (a cloud's
metadata service at 169.254.169.254, a router at 10.0.0.1) unless its entry says
`allow_private_network: true`, and a redirect is not followed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import Iterable
from typing import Any

from newsbeam.fetching.addresses import AddressPolicy
from newsbeam.fetching.client import FetchError, HttpClient
from newsbeam.fetching.settings import FetchSettings
from newsbeam.schemas import DeadLetter, Story, utc_now

SIGNATURE_HEADER = "X-Newsbeam-Signature"
DELIVERY_HEADER = "X-Newsbeam-Delivery"
STAGE = "webhook"  # the dead letters of deliveries that failed
# Attempts within a pass, and the pause before the second and third.
ATTEMPTS = 3
BACKOFF_S = (0.5, 2.0)
# A receiver answers within this, or the attempt failed.
DEADLINE_S = 10.0


@dataclasses.dataclass(frozen=True)
class Webhook:
    url: str
    secret: str = dataclasses.field(repr=False)
    allow_private_network: bool = False


@dataclasses.dataclass(frozen=True)
class Delivery:
    hook: Webhook
    id: str
    body: bytes


def sign(body: bytes, secret: str, at: int | None = None) -> str:
    """The signature header's value for a body: its time and HMAC-SHA256."""
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def verify(body: bytes, header: str, secret: str, tolerance_s: float = 300) -> bool:
    """A receiver's check of a delivery: signed with the secret, within `tolerance_s` of now
    (an old delivery replayed is refused)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not parts.get("t", "").isdigit() or "v1" not in parts:
        return False
    at = int(parts["t"])
    return abs(time.time() - at) <= tolerance_s and hmac.compare_digest(sign(body, secret, at), header)


def deliveries(hooks: Iterable[Webhook], stories: Iterable[Story], new: set[str]) -> list[Delivery]:
    """One delivery per receiver per story: `story.new` for a story of `new` (the pass made
    it), else `story.updated`."""
    made = []
    for story in stories:
        event = "story.new" if story.story_id in new else "story.updated"
        delivery_id = hashlib.sha1(f"{story.story_id}|{story.updated}".encode()).hexdigest()
        body = json.dumps({"id": delivery_id, "event": event, "story": story.to_dict()}, ensure_ascii=False,
                          sort_keys=True).encode()
        made += [Delivery(hook, delivery_id, body) for hook in hooks]
    return made


def revision_deliveries(hooks: Iterable[Webhook], revisions: Iterable[dict[str, Any]]) -> list[Delivery]:
    """One delivery per receiver per earlier version an edit in place replaced:
    `{"id", "event": "story.revised", "revision"}`, the revision as the revisions sink writes it
    (its story's new record goes as `story.updated` beside it)."""
    made = []
    for revision in revisions:
        delivery_id = hashlib.sha1(f"{revision['url']}|{revision['revision']}".encode()).hexdigest()
        body = json.dumps({"id": delivery_id, "event": "story.revised", "revision": revision}, ensure_ascii=False,
                          sort_keys=True).encode()
        made += [Delivery(hook, delivery_id, body) for hook in hooks]
    return made


def again(hooks: Iterable[Webhook], letters: Iterable[DeadLetter]) -> list[Delivery]:
    """The deliveries of these dead letters, to the receivers still configured."""
    by_url = {hook.url: hook for hook in hooks}
    made = []
    for letter in letters:
        hook_url, _, delivery_id = letter.url.rpartition("#")
        if hook_url in by_url and letter.payload:
            made.append(Delivery(by_url[hook_url], delivery_id, letter.payload.encode()))
    return made


def deliver(items: list[Delivery], settings: FetchSettings) -> tuple[list[Delivery], list[DeadLetter]]:
    """Send each delivery: those delivered, and a dead letter for each that failed."""
    clients: dict[bool, HttpClient] = {}
    done, letters = [], []
    try:
        for item in items:
            allowed = item.hook.allow_private_network
            client = clients.get(allowed) or clients.setdefault(allowed, HttpClient(AddressPolicy(allowed), settings))
            error = _send(client, item)
            if error is None:
                done.append(item)
            else:
                # due again at the next pass (after the receiver's Retry-After, if it gave one)
                letters.append(DeadLetter(url=f"{item.hook.url}#{item.id}", stage=STAGE, reason=error.reason,
                                          status=error.status, at=utc_now(), payload=item.body.decode(),
                                          retry_after=error.not_before, final=error.final,
                                          next_due=error.not_before or utc_now()))
    finally:
        for client in clients.values():
            client.close()
    return done, letters


def _send(client: HttpClient, item: Delivery) -> FetchError | None:
    headers = {"Content-Type": "application/json", DELIVERY_HEADER: item.id}
    error: FetchError | None = None
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(BACKOFF_S[min(attempt - 1, len(BACKOFF_S) - 1)])
        try:
            client.post(item.hook.url, item.body, {**headers, SIGNATURE_HEADER: sign(item.body, item.hook.secret)},
                        deadline_s=DEADLINE_S)
            return None
        except FetchError as exc:
            error = exc
            if exc.final or (exc.status is not None and 400 <= exc.status < 500 and exc.status != 429):
                break  # refused by the policy, or the receiver said no: trying again now changes nothing
    return error
