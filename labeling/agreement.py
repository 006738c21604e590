"""Agreement between two annotators' grades (high / medium / low) on doubly annotated samples.

Pure Python (no Django). A pair is (grade of the first annotator, grade of the second).

* `percent_agreement`: share of pairs with the same grade.
* `cohen_kappa`: unweighted Cohen's kappa, agreement corrected for what the two annotators'
  own grade distributions would give by chance.
* `per_annotator`: both figures for each annotator over every pair they took part in.

Kappa is computed from integer counts so that "expected agreement is exactly 1" is detected
without float noise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from typing import TypeVar

A = TypeVar("A", bound=Hashable)

GRADES = ("high", "medium", "low")
# A rejection needs no grade: ungraded rejections form their own category.
REJECTED = "rejected"
CATEGORIES = (*GRADES, REJECTED)


def percent_agreement(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Share of pairs whose two grades are equal; None when there are no pairs."""
    if not pairs:
        return None
    return sum(1 for first, second in pairs if first == second) / len(pairs)


def cohen_kappa(
    pairs: Sequence[tuple[str, str]], categories: Sequence[str] = GRADES
) -> float | None:
    """Unweighted Cohen's kappa (p_o - p_e) / (1 - p_e); None when there are no pairs.

    When p_e is 1 (both annotators always gave the same single grade) kappa is undefined; we
    return 1.0 if they also agreed on every pair (they did, necessarily) and 0.0 otherwise.
    A grade outside `categories` raises ValueError: it is a typo or a wrong scale, and
    silently counting it would change the result.
    """
    if not pairs:
        return None
    allowed = set(categories)
    for first, second in pairs:
        for grade in (first, second):
            if grade not in allowed:
                raise ValueError(f"grade {grade!r} is not one of {tuple(categories)!r}")

    total = len(pairs)
    agreed = sum(1 for first, second in pairs if first == second)
    first_counts = Counter(first for first, _ in pairs)
    second_counts = Counter(second for _, second in pairs)
    # Scaled by total**2: p_o = agreed / total, p_e = chance / total**2.
    chance = sum(first_counts[grade] * second_counts[grade] for grade in allowed)
    if chance == total * total:
        return 1.0 if agreed == total else 0.0
    return (total * agreed - chance) / (total * total - chance)


def per_annotator(
    rows: Sequence[tuple[A, A, str, str]], categories: Sequence[str] = GRADES
) -> dict[A, dict[str, float | int | None]]:
    """For each annotator: {"pairs": n, "agreement": share, "kappa": k} over the pairs they
    took part in.

    A row is (annotator, other_annotator, grade, other_grade); each doubly annotated sample
    should appear once, and counts for both annotators. An annotator's pairs are turned so that
    their own grade comes first, so their kappa compares their grade distribution with that of
    whoever they were paired with. Annotators are sorted by str.
    """
    pairs_of: dict[A, list[tuple[str, str]]] = {}
    for annotator, other, grade, other_grade in rows:
        if annotator == other:
            raise ValueError(f"{annotator!r} is paired with themselves")
        pairs_of.setdefault(annotator, []).append((grade, other_grade))
        pairs_of.setdefault(other, []).append((other_grade, grade))

    result: dict[A, dict[str, float | int | None]] = {}
    for annotator in sorted(pairs_of, key=str):
        pairs = pairs_of[annotator]
        result[annotator] = {
            "pairs": len(pairs),
            "agreement": percent_agreement(pairs),
            "kappa": cohen_kappa(pairs, categories),
        }
    return result
