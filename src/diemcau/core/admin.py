from django.contrib import admin

from . import audit
from .models import AuditEntry, Job


class AuditedAdmin(admin.ModelAdmin):
    """Support staff's edits in the admin leave audit entries like the services' do."""

    def save_model(self, request, obj, form, change):
        before = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else {}
        super().save_model(request, obj, form, change)
        b, a = audit.changed(before, audit.snapshot(obj))
        action = f"{obj._meta.model_name}.{'updated' if change else 'created'}_in_admin"
        audit.record(request.user, action, obj, before=b or None, after=a or None)

    def delete_model(self, request, obj):
        audit.record(request.user, f"{obj._meta.model_name}.deleted_in_admin", obj, before=audit.snapshot(obj))
        super().delete_model(request, obj)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "object_repr")
    list_filter = ("action",)
    search_fields = ("object_repr", "action")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "owner", "status", "progress", "total", "created_at")
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in Job._meta.fields]
