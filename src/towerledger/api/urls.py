from ninja import NinjaAPI

api = NinjaAPI(title="towerledger API", version="1", urls_namespace="api")
