from django.urls import path

from . import views

app_name = "orgs"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("children/<int:pk>/", views.children, name="children"),
    path("search/", views.search, name="search"),
    path("units/<int:pk>/", views.unit_detail, name="unit"),
    path("units/<int:pk>/people/", views.people_list, name="people"),
]
