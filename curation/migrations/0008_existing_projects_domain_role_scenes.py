"""Projects made before the domain setting were real-estate projects (the only domain the
product knew), and their roles get the paper's role-scene pairing."""

from django.db import migrations

ROLE_SCENES = {
    "real-estate-agent": ("buying", "selling", "renting"),
    "home-designer": ("home-improvement",),
    "rental-cloud-manager": ("renting",),
    "lease-asset-manager": ("renting",),
    "customer-manager": ("buying", "selling", "home-improvement"),
    "home-advisor": ("home-improvement",),
}


def forwards(apps, schema_editor):
    Project = apps.get_model("curation", "Project")
    Scene = apps.get_model("curation", "Scene")
    ServiceRole = apps.get_model("curation", "ServiceRole")
    Project.objects.filter(domain_zh="", domain_en="").update(
        domain_zh="房产经纪", domain_en="real-estate brokerage"
    )
    Link = ServiceRole.scenes.through
    links = []
    for project_id in Project.objects.values_list("pk", flat=True):
        scenes = dict(Scene.objects.filter(project_id=project_id).values_list("key", "pk"))
        roles = dict(ServiceRole.objects.filter(project_id=project_id).values_list("key", "pk"))
        links += [
            Link(servicerole_id=roles[role], scene_id=scenes[scene])
            for role, keys in ROLE_SCENES.items()
            for scene in keys
            if role in roles and scene in scenes
        ]
    Link.objects.bulk_create(links, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("curation", "0007_project_domain_endpoint_context_role_scenes")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
