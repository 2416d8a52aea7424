import pytest

from tests.campaigns.helpers import open_always


@pytest.fixture()
def always_open(db):
    """Send windows open all the time (the tests of windows set their own)."""
    open_always()
