from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "towerledger.access"
    verbose_name = "用户与权限 People and access"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from towerledger.access import throttle

        # every login, by any view, is throttled and logged the same way (access/throttle.py)
        user_login_failed.connect(throttle.login_failed, dispatch_uid="towerledger_login_failed")
        user_logged_in.connect(throttle.logged_in, dispatch_uid="towerledger_logged_in")
