from django.urls import path

from . import views

app_name = "polls"

urlpatterns = [
    path("", views.index, name="index"),
    path("polls/<slug:slug>/", views.poll_detail, name="detail"),
    path("polls/<slug:slug>/vote/", views.vote, name="vote"),
    path("api/openapi.json", views.api_schema, name="api-schema"),
    path("api/polls/<slug:slug>", views.api_poll, name="api-poll"),
    path("api/polls/<slug:slug>/vote", views.api_vote, name="api-vote"),
    path("api/polls/<slug:slug>/results", views.api_results, name="api-results"),
]
