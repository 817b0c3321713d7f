from django.urls import path

from . import views, views_polls, views_sip

app_name = "live"
urlpatterns = [
    path("conference/<int:cid>/", views.index, name="index"),
    path("conference/<int:cid>/studio/", views.studio, name="studio"),
    path("conference/<int:cid>/director/", views.director, name="director"),
    path("conference/<int:cid>/board/", views.site_board, name="site-board"),
    path("conference/<int:cid>/nodes/", views.nodes, name="nodes"),
    path("points/<int:pk>/kiosk/", views.kiosk, name="kiosk"),
    path("points/<int:pk>/check/", views.technical_check, name="check"),
    path("points/<int:pk>/room-system/", views_sip.room_system, name="room-system"),
    path("points/<int:pk>/thumbnail.jpg", views.thumbnail, name="thumbnail"),
    path("hls/<int:cid>/<int:expires>/<str:signature>/<path:path>", views.hls, name="hls"),
]
urlpatterns += [
    path("conference/<int:cid>/polls/ask/", views_polls.ask, name="poll-ask"),
    path("polls/<int:pk>/close/", views_polls.close, name="poll-close"),
    path("polls/<int:pk>/show/", views_polls.show, name="poll-show"),
    path("polls/<int:pk>/vote/", views_polls.vote, name="poll-vote"),
]
