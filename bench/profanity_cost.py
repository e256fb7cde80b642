"""What the profanity filter costs one answer (issue 34: p99 <= 1 ms for 280 characters).

    python -m bench.profanity_cost [--rounds 2000]

Times `polls.profanity.check` with the default lists (all four languages) on answers of
280 characters: real sentences of the site's four catalogues (locale/), and the shapes that
cost the filter most: spelled-out letters ("b . a . d"), stretched letters, every letter
accented, a caught word at the end. Each answer is checked `--rounds` times, one call per
timing, after a warm-up; prints the percentiles per shape and over all. Django-free.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from pathlib import Path

from polls import profanity

ROOT = Path(__file__).resolve().parents[1]
LENGTH = 280


def sentences() -> list[str]:
    """The msgstr texts of the site's catalogues: real sentences in four languages."""
    found = []
    for path in sorted((ROOT / "locale").glob("*/LC_MESSAGES/*.po")):
        for match in re.finditer(r'^msg(?:id|str) "(.+)"$', path.read_text(), re.MULTILINE):
            found.append(match.group(1))
    return found


def answer(pool: list[str], rng: random.Random) -> str:
    text = ""
    while len(text) < LENGTH:
        text += rng.choice(pool) + " "
    return text[:LENGTH]


def shapes(rng: random.Random) -> dict[str, list[str]]:
    pool = sentences()
    letters = "abcdefghijklmnopqrstuvwyz"
    return {
        "sentences": [answer(pool, rng) for _ in range(50)],
        "spelled out": [
            " . ".join(rng.choice(letters) for _ in range(LENGTH // 4))[:LENGTH] for _ in range(10)
        ],
        "stretched": [
            " ".join(rng.choice(letters) * rng.randint(2, 9) for _ in range(60))[:LENGTH]
            for _ in range(10)
        ],
        "accented": [
            "".join(rng.choice("éèêëàâäîïôöûüçñß ") for _ in range(LENGTH)) for _ in range(10)
        ],
        "caught at the end": [answer(pool, rng)[: LENGTH - 12] + " Scheiße!!!" for _ in range(10)],
    }


def percentile(times: list[int], fraction: float) -> float:
    return sorted(times)[min(len(times) - 1, int(fraction * len(times)))] / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2000, help="checks per answer")
    args = parser.parse_args()
    started = time.perf_counter_ns()
    profanity.filter_for()
    print(f"filter built (all four lists) in {(time.perf_counter_ns() - started) / 1e6:.1f} ms")
    every: list[int] = []
    for name, texts in shapes(random.Random(34)).items():
        times: list[int] = []
        for text in texts:
            for _ in range(20):
                profanity.check(text)  # warm-up
            for _ in range(args.rounds // len(texts) or 1):
                start = time.perf_counter_ns()
                profanity.check(text)
                times.append(time.perf_counter_ns() - start)
        every += times
        print(
            f"{name:>18}: p50 {statistics.median(times) / 1000:6.1f} us  "
            f"p99 {percentile(times, 0.99):6.1f} us  max {max(times) / 1000:7.1f} us  "
            f"({len(times)} checks)"
        )
    print(
        f"{'all':>18}: p50 {statistics.median(every) / 1000:6.1f} us  "
        f"p99 {percentile(every, 0.99):6.1f} us  ({len(every)} checks)"
    )


if __name__ == "__main__":
    main()
