"""Development mode for the test suite (pyproject's DJANGO_SETTINGS_MODULE): the settings of
towerledger.config.settings with TOWERLEDGER_DEBUG=1 unless the environment says otherwise.

Set before the settings are read, and kept in the environment so that the commands a test
starts in a subprocess run in development mode too."""

import os

os.environ.setdefault("TOWERLEDGER_DEBUG", "1")

from towerledger.config.settings import *  # noqa: E402, F403
