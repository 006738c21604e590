"""The metrics pass's caches: token counts and vectors are computed once per text, written
through COPY, and a row already there is kept, never duplicated."""

from __future__ import annotations

import numpy as np
import pytest

from curation.llm import tokens
from metrics.models import EmbeddingCache, TokenCount
from metrics.quality import Row
from metrics.services import compute
from metrics.services.bulk import rows_copy
from metrics.services.compute import counts_cached, metrics_compute, text_hash

pytestmark = pytest.mark.django_db


def test_token_counts_are_cached_by_text_and_tokenizer(monkeypatch):
    texts = ["请总结客户的购房需求。", "你好", "请总结客户的购房需求。"]
    first = counts_cached(texts)
    assert first == [tokens.count(t) for t in texts]
    assert TokenCount.objects.count() == 2  # the repeated text once

    def tokenised_again(texts):
        raise AssertionError(f"tokenised again: {texts}")

    monkeypatch.setattr(tokens, "count_many", tokenised_again)
    assert counts_cached(list(reversed(texts))) == list(reversed(first))


def test_a_second_pass_embeds_nothing_and_gives_the_same_metrics(monkeypatch):
    rows = [
        Row(prompt=p, dialogue="客户：想看望京的两居室。", label_quality="high", task_type="t")
        for p in ("总结客户需求。", "总结客户需求！", "提取客户预算。", "判断购买意向。")
    ]
    first = metrics_compute(rows)
    assert EmbeddingCache.objects.filter(model="tokens-tfidf-384").count() == 4
    backend = compute.backend_for("tokens")

    def embedded_again(self, texts):
        raise AssertionError(f"embedded again: {texts}")

    monkeypatch.setattr(type(backend), "embed", embedded_again)
    assert metrics_compute(rows) == first


def test_copy_skips_rows_already_there_and_keeps_them():
    rows_copy(
        model=TokenCount,
        fields=["tokenizer", "text_hash", "count"],
        rows=[("qwen", text_hash("a"), 1)],
        ignore_conflicts=True,
    )
    rows_copy(
        model=TokenCount,
        fields=["tokenizer", "text_hash", "count"],
        rows=[("qwen", text_hash("a"), 99), ("qwen", text_hash("b"), 2)],
        ignore_conflicts=True,
    )
    assert dict(TokenCount.objects.values_list("text_hash", "count")) == {
        text_hash("a"): 1,
        text_hash("b"): 2,
    }


def test_cached_vectors_come_back_bit_for_bit():
    vector = np.linspace(-1, 1, 384, dtype=np.float32)
    compute._cache_put("m", {"h": vector})
    assert np.array_equal(compute._cache_get("m", ["h", "missing"])["h"], vector)


def test_without_copy_the_rows_go_through_bulk_create_with_foreign_keys_as_ids(team):
    # The quick start's SQLite takes this path; foreign keys arrive as ids, as for COPY.
    from labeling.models import Sample
    from metrics.models import DatasetVersion, VersionItem
    from metrics.services.bulk import rows_insert
    from metrics.services.versions import ITEM_FIELDS
    from tests.factories import DialogueFactory
    from tests.metrics.test_services_versions import PROMPTS
    from tests.support.labels import approved_prompt

    version = DatasetVersion.objects.create(project=team.project, name="v")
    prompt = approved_prompt(team.project, "reasoning", "json", PROMPTS[0])
    sample = Sample.objects.create(
        project=team.project, dialogue=DialogueFactory(project=team.project), prompt=prompt,
        task_type=prompt.task_type,
    )  # fmt: skip
    row = (
        version.pk, 0, sample.pk, "p", "n", "d", "i", "", "t", "o", "reasoning", "", "json",
        "", "high",
    )  # fmt: skip
    rows_insert(model=VersionItem, fields=ITEM_FIELDS, rows=[row])
    item = VersionItem.objects.get()
    assert (item.version_id, item.sample_id, item.label_quality) == (version.pk, sample.pk, "high")
    rows_insert(
        model=TokenCount, fields=["tokenizer", "text_hash", "count"],
        rows=[("q", "h", 1), ("q", "h", 2)], ignore_conflicts=True,
    )  # fmt: skip
    assert list(TokenCount.objects.values_list("count", flat=True)) == [1]
