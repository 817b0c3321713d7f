"""The account pages under /accounts/: one's own password, an organiser's resets."""

from django.urls import path

from . import views_accounts

urlpatterns = [
    path("password/", views_accounts.PasswordChangeView.as_view(), name="password-change"),
    path("reset/", views_accounts.reset_list, name="password-reset-list"),
    path("reset/<int:user_id>/", views_accounts.reset, name="password-reset"),
]
