from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/polls/<slug:slug>/", consumers.PollResultsConsumer.as_asgi()),
]
