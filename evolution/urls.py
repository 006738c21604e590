from django.urls import path

from evolution.views import instructions as views
from evolution.views import prompts

app_name = "evolution"

urlpatterns = [
    path("<slug:slug>/instructions/", views.instruction_queue, name="instruction_queue"),
    path("<slug:slug>/instructions/bulk/", views.instructions_bulk, name="instructions_bulk"),
    path("<slug:slug>/instructions/seed/", views.seeds_start, name="seeds_start"),
    path("<slug:slug>/instructions/evolve/", views.evolution_launch, name="evolution_launch"),
    path("<slug:slug>/instructions/operators/", views.operator_list, name="operator_list"),
    path("<slug:slug>/instructions/<int:pk>/", views.instruction_act, name="instruction_act"),
    path("<slug:slug>/instructions/screen/", views.screening_queue, name="screening_queue"),
    path("<slug:slug>/instructions/screen/<int:pk>/", views.screening_act, name="screening_act"),
    path(
        "<slug:slug>/instructions/<int:pk>/lineage/",
        views.instruction_lineage,
        name="instruction_lineage",
    ),
    # Stage 2
    path("<slug:slug>/prompts/parts/", prompts.part_list, name="part_list"),
    path("<slug:slug>/prompts/parts/add/", prompts.parts_add, name="parts_add"),
    path("<slug:slug>/prompts/", prompts.prompt_queue, name="prompt_queue"),
    path("<slug:slug>/prompts/<int:pk>/", prompts.prompt_act, name="prompt_act"),
    path("<slug:slug>/prompts/assemble/", prompts.prompts_assemble, name="prompts_assemble"),
    path("<slug:slug>/prompts/enhance/", prompts.prompts_enhance, name="prompts_enhance"),
    path("<slug:slug>/prompts/meta-prompt/", prompts.meta_prompt, name="meta_prompt"),
]
