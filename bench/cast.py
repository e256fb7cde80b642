"""Casts votes through polls.pipeline.submit.submit_vote, the function the vote views call.

Run as a subprocess by the persistence phase (python -m bench.cast ...), several at a
time, each with many threads, as a web process serves many requests at once: each vote
is queued exactly as an HTTP vote would be (votes taken at the same moment share a
message), without paying for HTTP. Voter i first votes for choice i % 2; the first
`changed` voters then change to the other choice, later, so 'last vote wins' decides
their final choice. For a multiple- or ranked-choice poll or a word cloud (--kind), voter i
casts ballot_for(kind, choices, i, changed) instead, drawn from i (the phase recomputes it).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import db


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slug", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--first", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--changed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument(
        "--kind", default="single", choices=["single", "multiple", "ranked", "wordcloud"]
    )
    args = parser.parse_args()

    db.setup_django()
    from polls import selectors
    from polls.pipeline import submit
    from polls.voters import voter_key_for

    poll = selectors.poll_for_voting(slug=args.slug)
    choices = [c.id for c in poll.choices.all()]

    def vote(i: int, shift: int) -> None:
        key = voter_key_for(user_id=None, anonymous_id=f"{args.prefix}{i}")
        if args.kind == "single":
            submit.submit_vote(poll=poll, choice_id=choices[(i + shift) % 2], voter_key=key)
        else:
            ballot = ballot_for(args.kind, choices, i, changed=bool(shift))
            submit.submit_vote(poll=poll, ballot=ballot, voter_key=key)

    start = time.monotonic()
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(lambda i: vote(i, 0), range(args.first, args.first + args.count)))
    # Every first vote is in before any change is cast, so the change is cast later.
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(lambda i: vote(i, 1), range(args.first, args.first + args.changed)))
    elapsed = time.monotonic() - start
    cast = args.count + args.changed
    print(json.dumps({"cast": cast, "seconds": elapsed, "rate": cast / elapsed}), flush=True)


def ballot_for(kind: str, choices: list[int], i: int, *, changed: bool) -> list[Any]:
    """Voter i's ballot (its changed one if `changed`): many distinct rankings, repeatable;
    a word cloud's three words of a vocabulary of 2,000, the first ones far more often (as
    people answer), in any case."""
    rng = random.Random(i * 2 + int(changed))
    if kind == "wordcloud":
        words = {int(2000 * rng.random() ** 3) for _ in range(3)}
        return [f"Word{n}" if rng.random() < 0.5 else f"word{n}" for n in sorted(words)]
    if kind == "ranked":
        return rng.sample(choices, rng.randint(1, len(choices)))
    return sorted(rng.sample(choices, rng.randint(1, len(choices))))


if __name__ == "__main__":
    main()
