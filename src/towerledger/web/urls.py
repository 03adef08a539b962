from django.urls import path

from towerledger.web import auth, bills, imports, settlement, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.auth_views.LogoutView.as_view(), name="logout"),
    path("sites/", views.sites, name="sites"),
    path("sites/<str:code>/", views.site, name="site"),
    path("tenancies/", views.tenancies, name="tenancies"),
    path("accounts/", views.accounts, name="accounts"),
    path("bills/", bills.bills, name="bills"),
    path("bills/pay/", bills.pay, name="pay"),
    path("bills/<int:pk>/", bills.bill, name="bill"),
    path("flags/", bills.flags, name="flags"),
    path("flags/<int:pk>/", bills.flag_action, name="flag_action"),
    path("imports/", imports.imports, name="imports"),
    path("imports/<int:pk>/", imports.import_job, name="import_job"),
    path("imports/<int:pk>/report/", imports.import_report, name="import_report"),
    path("templates/<str:kind>/", imports.template, name="template"),
    path("exports/<str:kind>/", imports.export, name="export"),
    path("audit-log/", views.audit_log, name="audit_log"),
    path("lines/", settlement.lines, name="lines"),
    path("lines/confirm/", settlement.confirm, name="lines_confirm"),
    path("lines/export/", settlement.lines_export, name="lines_export"),
    path("lines/<int:pk>/", settlement.line, name="line"),
    path("lines/<int:pk>/dispute/", settlement.dispute, name="line_dispute"),
    path("disputes/", settlement.disputes, name="disputes"),
    path("disputes/<int:pk>/answer/", settlement.answer, name="dispute_answer"),
    path("disputes/<int:pk>/attachment/", settlement.attachment, name="dispute_attachment"),
    path("ledger/", settlement.ledger, name="ledger"),
]
