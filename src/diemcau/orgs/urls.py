from django.urls import path

from . import views, views_io

app_name = "orgs"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("children/<int:pk>/", views.children, name="children"),
    path("search/", views.search, name="search"),
    path("units/<int:pk>/", views.unit_detail, name="unit"),
    path("units/<int:pk>/people/", views.people_list, name="people"),
    path("units/<int:pk>/export/", views_io.unit_export, name="unit-export"),
    path("units/<int:pk>/people/export/", views_io.people_export, name="people-export"),
    path("import/", views_io.import_start, name="import"),
    path("import/template/<str:kind>.xlsx", views_io.import_template, name="import-template"),
    path("import/<int:pk>/", views_io.import_batch, name="import-batch"),
    path("import/<int:pk>/status/", views_io.import_status, name="import-status"),
    path("import/<int:pk>/confirm/", views_io.import_confirm, name="import-confirm"),
    path("import/<int:pk>/recheck/", views_io.import_recheck, name="import-recheck"),
    path("import/<int:pk>/result/", views_io.import_result, name="import-result"),
    path("import/<int:pk>/problems.xlsx", views_io.import_problems, name="import-problems"),
]
