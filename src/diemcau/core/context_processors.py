from .scoping import scope_for


def scope(request):
    """Expose the user's scope to templates (for menus; views still check it themselves)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"scope": scope_for(user)}
