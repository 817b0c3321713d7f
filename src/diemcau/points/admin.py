from django.contrib import admin

from diemcau.core.admin import AuditedAdmin

from .models import Assignment, AssignmentImport, BridgePoint, Hall, Proposal, RoadDistance


@admin.register(Hall)
class HallAdmin(AuditedAdmin):
    list_display = ("name", "unit", "capacity", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "unit__name_search", "unit__code")
    raw_id_fields = ("unit",)


@admin.register(BridgePoint)
class BridgePointAdmin(AuditedAdmin):
    list_display = ("name", "conference", "hall", "is_host", "readiness", "contact_name")
    list_filter = ("readiness", "is_host", "conference")
    search_fields = ("name", "hall__unit__name_search")
    raw_id_fields = ("hall", "relay_parent")
    filter_horizontal = ("sessions",)


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    """Read-only: assignments change through the services (capacity and scope rules)."""

    list_display = ("institution", "point", "session", "seats", "method", "assigned_at")
    list_filter = ("method", "session")
    search_fields = ("institution__name_search", "institution__code")
    readonly_fields = [f.name for f in Assignment._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ("pk", "session", "unit", "status", "created_by", "created_at", "applied_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in Proposal._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(AssignmentImport)
class AssignmentImportAdmin(admin.ModelAdmin):
    list_display = ("filename", "session", "unit", "owner", "status", "created_at")
    list_filter = ("status",)
    exclude = ("content",)
    readonly_fields = ("session", "unit", "owner", "filename", "size", "sha256", "status", "summary",
                       "fingerprint", "result", "applied_at")


admin.site.register(RoadDistance)
