"""Chinese by default: the language is the user's explicit choice (the language cookie set
by the switch) or LANGUAGE_CODE — never guessed from the browser's Accept-Language, so a
clerk on an English-language Windows still gets the Chinese interface."""

from django.conf import settings
from django.utils import translation
from django.utils.deprecation import MiddlewareMixin


class ChosenLanguageMiddleware(MiddlewareMixin):
    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        codes = {code for code, _ in settings.LANGUAGES}
        language = chosen if chosen in codes else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request, response):
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
