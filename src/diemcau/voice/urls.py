from django.urls import path

from . import views

app_name = "voice"
urlpatterns = [
    path("<int:conference_id>/", views.send, name="send"),
    path("<int:conference_id>/similar/", views.similar, name="similar"),
    path("<int:conference_id>/moderate/", views.moderate, name="moderate"),
    path("<int:conference_id>/ranked/", views.ranked, name="ranked"),
    path("opinions/<int:pk>/vote/", views.vote, name="vote"),
    path("opinions/<int:pk>/<str:action>/", views.act, name="act"),
]
