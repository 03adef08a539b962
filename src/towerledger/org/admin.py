from django.contrib import admin

from towerledger.org.models import City, County, Operator, OperatorAgreement, Province

admin.site.register(Province)


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
    list_display = ["name", "province"]
    list_filter = ["province"]


@admin.register(County)
class CountyAdmin(admin.ModelAdmin):
    list_display = ["name", "city"]
    list_filter = ["city"]
    search_fields = ["name"]


@admin.register(Operator)
class OperatorAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]


@admin.register(OperatorAgreement)
class OperatorAgreementAdmin(admin.ModelAdmin):
    list_display = ["operator", "province", "effective_from", "confirm_within_days",
                    "deemed_confirmed", "resolve_within_days"]
