from django.urls import path

from . import consumers, sessions

websocket_urlpatterns = [
    path("ws/polls/<slug:slug>/", consumers.PollResultsConsumer.as_asgi()),
    path("ws/s/<str:code>/", sessions.SessionConsumer.as_asgi()),
    path("ws/present/<str:code>/", sessions.PresenterConsumer.as_asgi()),
]
