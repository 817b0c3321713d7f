from django.urls import path

from . import views, views_answers

app_name = "voice"
urlpatterns = [
    path("<int:conference_id>/", views.send, name="send"),
    path("<int:conference_id>/similar/", views.similar, name="similar"),
    path("<int:conference_id>/moderate/", views.moderate, name="moderate"),
    path("<int:conference_id>/moderate/bulk/", views.moderate_bulk, name="moderate-bulk"),
    path("<int:conference_id>/ranked/", views.ranked, name="ranked"),
    path("<int:conference_id>/on-air/", views.on_air, name="on-air"),
    path("<int:conference_id>/director/", views.director, name="director"),
    path("<int:conference_id>/topics/", views.topics, name="topics"),
    path("<int:conference_id>/groups/", views.groups, name="groups"),
    path("<int:conference_id>/summary/", views.policy_summary, name="summary"),
    path("opinions/<int:pk>/vote/", views.vote, name="vote"),
    path("opinions/<int:pk>/live/<str:action>/", views.director_act, name="live"),
    path("opinions/<int:pk>/<str:action>/", views.act, name="act"),
]
urlpatterns += [
    path("<int:conference_id>/answers/", views_answers.page, name="answers"),
    path("<int:conference_id>/answers/<str:action>/", views_answers.act, name="answers-act"),
]
