"""The ICU collation "vi" (vi-VN) that lists order by on PostgreSQL (core.vntext.by_name/people_order).

SQLite has no ICU: the same order comes from core.vntext.vi_sort_key, registered as the collation
"vi" on each connection (core.apps), so nothing is created there.
"""

from django.db import migrations


def create_collation(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('CREATE COLLATION IF NOT EXISTS "vi" (provider = icu, locale = \'vi-VN\')')


def drop_collation(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('DROP COLLATION IF EXISTS "vi"')


class Migration(migrations.Migration):

    dependencies = [("orgs", "0003_password_reset")]

    operations = [migrations.RunPython(create_collation, drop_collation, elidable=False)]
