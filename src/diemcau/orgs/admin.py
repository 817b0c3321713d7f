from django.contrib import admin

from diemcau.core.admin import AuditedAdmin

from .models import AdminArea, Person, RoleAssignment, Unit
from .signin import AdminSignInForm

# Support staff sign in to the admin through the same back-off as everyone else.
admin.site.login_form = AdminSignInForm


@admin.register(Unit)
class UnitAdmin(AuditedAdmin):
    list_display = ("name", "code", "kind", "depth", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name_search", "code")
    # The place in the tree changes only through the services (they rewrite the subtree's paths).
    readonly_fields = ("parent", "path", "depth")
    raw_id_fields = ("admin_area",)

    def has_add_permission(self, request):
        return False


@admin.register(Person)
class PersonAdmin(AuditedAdmin):
    list_display = ("full_name", "code", "category", "unit", "is_active")
    list_filter = ("category", "is_active")
    search_fields = ("name_search", "code")
    raw_id_fields = ("unit", "user")


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(AuditedAdmin):
    list_display = ("user", "role", "unit", "point_id")
    list_filter = ("role",)
    raw_id_fields = ("user", "unit")


@admin.register(AdminArea)
class AdminAreaAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "level", "division_type")
    list_filter = ("level",)
    search_fields = ("name_search", "code")
