# mypy: disable-error-code="import-untyped,import-not-found,misc"
# The permission convtrack.change_controls (models.Controls is unmanaged: no table).
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="Controls",
            fields=[("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"))],
            options={
                "verbose_name": "tracking controls",
                "verbose_name_plural": "tracking controls",
                "managed": False,
                "default_permissions": (),
                "permissions": [("change_controls", "Can change the Meta data controls and run tracking actions")],
            },
        ),
    ]
