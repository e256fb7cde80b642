from django.urls import path

from . import views

app_name = "results"

urlpatterns = [
    path("polls/<slug:slug>/results/", views.results_page, name="page"),
]
