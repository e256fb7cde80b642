from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from . import moderation_views, qna_views, session_views, views

app_name = "polls"

# The API's GET-only paths take no unsafe method at all (require_GET answers 405 with
# Allow, as polls/openapi.json says): CSRF's 403 must not come first, and has nothing to
# protect there.
read_only = csrf_exempt

urlpatterns = [
    path("", views.index, name="index"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("polls/<slug:slug>/", views.poll_detail, name="detail"),
    path("polls/<slug:slug>/vote/", views.vote, name="vote"),
    path("polls/<slug:slug>/board/", views.board, name="board"),
    path("polls/<slug:slug>/receipt/", views.receipt_check, name="receipt"),
    path("join", session_views.join, name="join"),
    path("s/<str:code>/", session_views.audience, name="session"),
    path("s/<str:code>/nickname", session_views.nickname, name="session-nickname"),
    path("s/<str:code>/qna/ask", qna_views.ask, name="qna-ask"),
    path("s/<str:code>/qna/upvote", qna_views.upvote, name="qna-upvote"),
    path("s/<str:code>/qna/withdraw", qna_views.withdraw, name="qna-withdraw"),
    path("present/<str:code>/", session_views.present, name="present"),
    path("present/<str:code>/qna", qna_views.control, name="qna-control"),
    path("present/<str:code>/qna.csv", qna_views.export, {"fmt": "csv"}, name="qna-export-csv"),
    path("present/<str:code>/qna.json", qna_views.export, {"fmt": "json"}, name="qna-export-json"),
    path("present/<str:code>/control", session_views.control, name="present-control"),
    path("embed/polls/<slug:slug>/", session_views.embed_poll, name="embed-poll"),
    path("embed/s/<str:code>/", session_views.embed_session, name="embed-session"),
    path("api/openapi.json", read_only(views.api_schema), name="api-schema"),
    path("api/polls/<slug:slug>", read_only(views.api_poll), name="api-poll"),
    path("api/polls/<slug:slug>/vote", views.api_vote, name="api-vote"),
    path(
        "api/polls/<slug:slug>/votes/<uuid:vote_id>",
        read_only(views.api_vote_status),
        name="api-vote-status",
    ),
    path("api/polls/<slug:slug>/results", read_only(views.api_results), name="api-results"),
    path(
        "api/polls/<slug:slug>/results/rctab.json",
        read_only(views.api_results_rctab),
        name="api-results-rctab",
    ),
    path("api/polls/<slug:slug>/board", read_only(views.api_board), name="api-board"),
    path(
        "api/polls/<slug:slug>/receipts/<str:code>",
        read_only(views.api_receipt),
        name="api-receipt",
    ),
    path("api/polls/<slug:slug>/terms", read_only(views.api_terms), name="api-terms"),
    path("api/polls/<slug:slug>/entries", read_only(views.api_entries), name="api-entries"),
    path("moderate/polls/<slug:slug>/", moderation_views.moderate_poll, name="moderate-poll"),
    path("moderate/polls/<slug:slug>/act", moderation_views.act, name="moderate-act"),
    path("moderate/s/<str:code>/", moderation_views.moderate_session, name="moderate-session"),
    path("moderate/s/<str:code>/qna", moderation_views.act_question, name="moderate-question"),
    path(
        "api/sessions/<str:code>/questions",
        read_only(qna_views.api_questions),
        name="api-qna-questions",
    ),
    path("api/sessions/<str:code>/questions/ask", qna_views.api_ask, name="api-qna-ask"),
    path(
        "api/sessions/<str:code>/questions/<str:question>/upvote",
        qna_views.api_upvote,
        name="api-qna-upvote",
    ),
    re_path(
        r"^api/", read_only(views.api_not_found)
    ),  # last: any other path under /api/ (newlines too)
]
