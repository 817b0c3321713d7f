def scope(request):
    """Expose the request's scope (``ScopeMiddleware``) to templates, for menus; views still check it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "user_scope"):
        return {}
    return {"scope": request.user_scope}
