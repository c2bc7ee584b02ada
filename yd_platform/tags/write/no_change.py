"""Finding, without a join, that a run's result is what user_tags already holds.

Comparing each user's result with the user's row needs a join of every user with every
user (both sides shuffled): at 10M users several times the evaluation itself. When the
current rows come from the platform's copy (`snapshot`), the run first sums both sides
up without a shuffle: the run's result as the pairs (user, evaluated tags matched) of
the users who match one, the copy as the pairs (user, evaluated tags held) of the rows
holding one. These two sets are equal exactly when no user gains or loses an evaluated
tag, that is when the run would write nothing; the run's counts then follow from its
result alone. When they differ the run compares row by row (`diff`), as it does when it
read user_tags itself.

The copy's side is summed up by the run that writes the copy, in the same pass, for the
tags that run evaluated (`Digest`, published with the copy). A later run of every user
over the same tags then sums up its own result only, and reads no row of the copy; any
other scope sums the copy up in the same job as its result.

A user's evaluated tags are bits of 64-bit integers (bit i: the i-th evaluated tag, 63 to
an integer), so neither side sorts, deduplicates or intersects an array per row, and the
per-tag counts are bit tests. Each set is summed up by its size, the XOR of a 64-bit hash
of each pair and the sum of the hashes' lower 32 bits, so a change that leaves all three
equal has a chance of about 2^-64.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from yd_platform.tags.write.diff import RunStatistics, TagCounts

_LOW_32 = 0xFFFFFFFF
# bits used in each 64-bit integer: the sign bit stays clear
BITS = 63


@dataclass(frozen=True)
class Digest:
    """The pairs (user, evaluated tags held) of the users holding one of `evaluated`,
    summed up."""

    evaluated: tuple[int, ...]
    users: int
    xor: int
    sum: int

    def as_json(self) -> dict:
        return {"evaluated": list(self.evaluated), "users": self.users, "xor": self.xor, "sum": self.sum}

    @classmethod
    def from_json(cls, value: dict | None) -> Digest | None:
        if not value:
            return None
        return cls(tuple(int(t) for t in value["evaluated"]), int(value["users"]), int(value["xor"]),
                   int(value["sum"]))


def _masks(tags: Column, evaluated: list[int]) -> list[Column]:
    """The evaluated tags in `tags` (an array; null: none) as bits: bit i of integer j is
    `evaluated[j * BITS + i]`."""
    zero, masks = F.lit(0).cast("long"), []
    for start in range(0, len(evaluated), BITS):
        bits = [F.when(F.array_contains(tags, F.lit(int(t))), F.lit(1 << i).cast("long")).otherwise(zero)
                for i, t in enumerate(evaluated[start:start + BITS])]
        masks.append(reduce(lambda a, b: a.bitwiseOR(b), bits))
    return masks


def _names(evaluated: list[int]) -> list[str]:
    return [f"bits{j}" for j in range(-(-len(evaluated) // BITS))]


def pair_hash(user: Column, bits: list[Column]) -> Column:
    """The 64-bit hash of (user, evaluated tags held); null for a user holding none."""
    listed = reduce(lambda a, b: a | b, [b != 0 for b in bits], F.lit(False))
    return F.when(listed, F.xxhash64(user.cast("string"), *bits))


def digest_hash(user: Column, tags: Column, evaluated: list[int]) -> Column:
    """`pair_hash` of a row with `tags` (array<int>) for the sorted `evaluated` tags."""
    return pair_hash(user, _masks(tags.cast("array<int>"), evaluated))


def digest_columns(hashes: Column, prefix: str) -> list[Column]:
    """The aggregations that sum a column of `digest_hash` up (`digest_from`)."""
    return [F.count(hashes).alias(f"{prefix}_users"), F.bit_xor(hashes).alias(f"{prefix}_xor"),
            F.sum(hashes.bitwiseAND(F.lit(_LOW_32))).alias(f"{prefix}_sum")]


def digest_from(values, prefix: str, evaluated: list[int]) -> Digest:
    return Digest(tuple(sorted(set(evaluated))), int(values[f"{prefix}_users"] or 0),
                  int(values[f"{prefix}_xor"] or 0), int(values[f"{prefix}_sum"] or 0))


def unchanged_statistics(found: DataFrame, current: DataFrame, evaluated: list[int],
                         held: Digest | None = None) -> RunStatistics | None:
    """The run's counts when it changes no row of user_tags, else None.

    `found`: user_id, tag_ids (the evaluated tags each user of the scope matches);
    `current`: the rows of the same scope (tag_ids as array<int>); `held`: their digest for
    `evaluated` when known (then `current` is not read)."""
    evaluated = sorted(set(evaluated))
    names = _names(evaluated)

    def side(frame: DataFrame, run: bool) -> DataFrame:
        masks = _masks(F.col("tag_ids").cast("array<int>"), evaluated)
        return frame.select(F.lit(run).alias("run"), F.col("user_id").cast("string").alias("user_id"),
                            *[m.alias(n) for m, n in zip(masks, names, strict=True)])

    if held is not None and held.evaluated != tuple(evaluated):
        held = None
    both = side(found, True) if held is not None else side(found, True).unionByName(side(current, False))
    both = both.withColumn("hash", pair_hash(F.col("user_id"), [F.col(n) for n in names]))
    run = F.col("run")
    matched = {t: F.sum(F.when(run, F.shiftright(F.col(names[i // BITS]), i % BITS).bitwiseAND(F.lit(1))))
               for i, t in enumerate(evaluated)}
    values = both.agg(*digest_columns(F.when(run, F.col("hash")), "run"),
                      *digest_columns(F.when(~run, F.col("hash")), "held"),
                      F.sum(F.when(run, 1)).alias("evaluated"),
                      *[column.alias(f"m{t}") for t, column in matched.items()]).first()
    if digest_from(values, "run", evaluated) != (held or digest_from(values, "held", evaluated)):
        return None
    users_matched = int(values["run_users"] or 0)
    return RunStatistics(int(values["evaluated"] or 0), users_matched, 0, 0, users_matched,
                         {t: TagCounts(int(values[f"m{t}"] or 0), 0, 0) for t in evaluated})
