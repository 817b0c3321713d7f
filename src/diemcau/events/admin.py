from django.contrib import admin

from diemcau.core.admin import AuditedAdmin

from .models import AgendaItem, Conference, Session


class SessionInline(admin.TabularInline):
    model = Session
    fields = ("title", "starts_at", "ends_at", "audience_levels")
    extra = 0
    show_change_link = True


class AgendaInline(admin.TabularInline):
    model = AgendaItem
    extra = 0


@admin.register(Conference)
class ConferenceAdmin(AuditedAdmin):
    list_display = ("title", "date", "host_unit")
    search_fields = ("title",)
    raw_id_fields = ("host_unit",)
    inlines = [SessionInline]


@admin.register(Session)
class SessionAdmin(AuditedAdmin):
    list_display = ("title", "conference", "starts_at", "ends_at", "audience_levels")
    raw_id_fields = ("audience_units",)
    inlines = [AgendaInline]
