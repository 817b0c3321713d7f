from django.contrib import admin

from diemcau.core.admin import AuditedAdmin

from .models import ModerationAction, Opinion, Topic


@admin.register(Topic)
class TopicAdmin(AuditedAdmin):
    list_display = ("name", "key", "conference", "position")
    list_filter = ("conference",)


@admin.register(Opinion)
class OpinionAdmin(admin.ModelAdmin):
    # Read-only: moderation goes through the services so every change is scoped and logged.
    list_display = ("text", "kind", "status", "at_unit", "upvotes", "raised_by_people", "created_at")
    list_filter = ("status", "kind", "conference")
    # Who wrote an item is the rate limiter's business only (anonymous items): never shown here.
    exclude = ("author", "author_unit")
    raw_id_fields = ("at_unit", "merged_into", "session", "topic", "suggested_topic")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    list_display = ("at", "action", "opinion", "actor")
    list_filter = ("action",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
