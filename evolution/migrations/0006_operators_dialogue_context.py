"""Every evolution operator now shows the model the dialogue (the paper evolves instructions
under the dialogue's control), and the operator check requires `{dialogue}`. Operators that
projects already have were made from the earlier defaults, or edited, without it: each prompt
lacking `{dialogue}` gets one dialogue-context line appended, and nothing else is rewritten (a
lead's wording stays theirs). The revision moves on, so a form opened before is refused rather
than saved over the new text."""

from django.db import migrations

LINES = {
    "prompt_zh": "\n对话语境（节选）：{dialogue}",
    "prompt_en": "\nDialogue context (excerpt): {dialogue}",
}


def operators_add_dialogue(apps, schema_editor):
    EvolutionOperator = apps.get_model("evolution", "EvolutionOperator")
    changed = []
    for operator in EvolutionOperator.objects.order_by("pk").iterator(chunk_size=500):
        touched = False
        for field, line in LINES.items():
            text = getattr(operator, field)
            if "{dialogue}" not in text:
                setattr(operator, field, text.rstrip() + line)
                touched = True
        if touched:
            operator.revision += 1
            changed.append(operator)
    EvolutionOperator.objects.bulk_update(
        changed, ["prompt_zh", "prompt_en", "revision"], batch_size=500
    )


def operators_remove_dialogue(apps, schema_editor):
    """Back: take the appended line off again where it is still the prompt's end."""
    EvolutionOperator = apps.get_model("evolution", "EvolutionOperator")
    changed = []
    for operator in EvolutionOperator.objects.order_by("pk").iterator(chunk_size=500):
        touched = False
        for field, line in LINES.items():
            text = getattr(operator, field)
            if text.endswith(line):
                setattr(operator, field, text[: -len(line)])
                touched = True
        if touched:
            operator.revision += 1
            changed.append(operator)
    EvolutionOperator.objects.bulk_update(
        changed, ["prompt_zh", "prompt_en", "revision"], batch_size=500
    )


class Migration(migrations.Migration):
    dependencies = [
        ("evolution", "0005_instruction_scene_index"),
    ]

    operations = [
        migrations.RunPython(operators_add_dialogue, operators_remove_dialogue, elidable=True),
    ]
